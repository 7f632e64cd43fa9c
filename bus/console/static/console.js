// The bus console's one script: follows a timeline over server-sent events and keeps each
// message's delivery ticks current. Every piece of message data goes into the page with
// textContent (never innerHTML): content that looks like HTML is shown, never run.
(function () {
  "use strict";
  var MARKS = {
    queued: "○", in_progress: "◐", retrying: "↻", handled: "✓",
    dead_lettered: "✗", skipped: "⤼", refused: "⊘", left: "–"
  };
  var csrf = document.body.dataset.csrf || "";
  var list = document.getElementById("timeline");
  if (!list) { return; }
  var stateLabel = document.getElementById("state");
  var last = Number(list.dataset.after || 0);
  var received = 0;
  var duplicates = 0;
  var pending = {};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setState(text) {
    if (stateLabel) { stateLabel.textContent = text; }
    list.dataset.state = text;
  }

  function addAnswer(item) {
    var template = document.getElementById("answer-form");
    if (!template) { return; }
    var form = template.content.cloneNode(true);
    form.querySelector("[name=csrf]").value = csrf;
    form.querySelector("[name=stream]").value = list.dataset.stream || "";
    form.querySelector("[name=seq]").value = item.dataset.seq;
    item.appendChild(form);
  }

  function render(m) {
    var item = el("li", "msg");
    item.id = "m" + m.seq;
    item.dataset.seq = String(m.seq);
    item.dataset.id = m.id;
    var meta = el("div", "meta");
    meta.appendChild(el("span", "seq", "#" + m.seq));
    meta.appendChild(el("span", "sender", m.sender));
    if (m.human && m.human !== m.sender) { meta.appendChild(el("span", "human", m.human)); }
    if (m.recipient) { meta.appendChild(el("span", "recipient", "→ " + m.recipient)); }
    meta.appendChild(el("span", "type", m.type));
    var priority = el("span", "priority", m.priority);
    if (/^[a-z]+$/.test(m.priority)) { priority.classList.add("p-" + m.priority); }
    meta.appendChild(priority);
    var time = el("time", null, new Date(m.time).toLocaleString());
    time.setAttribute("datetime", m.time);
    meta.appendChild(time);
    meta.appendChild(el("span", "ticks"));
    var thread = el("a", "thread", "thread");
    thread.href = "/trace/" + encodeURIComponent(m.id);
    meta.appendChild(thread);
    item.appendChild(meta);
    item.appendChild(el("pre", "content", m.content));
    addAnswer(item);
    return item;
  }

  function drawTicks(item, status) {
    var box = item.querySelector(".ticks");
    if (!box) { return; }
    while (box.firstChild) { box.removeChild(box.firstChild); }
    status.members.forEach(function (member) {
      var name = member[0], state = member[1], detail = member[2];
      var tick = el("span", "tick", MARKS[state] || "?");
      if (/^[a-z_]+$/.test(state)) { tick.classList.add(state); }
      tick.dataset.member = name;
      tick.dataset.state = state;
      tick.title = name + ": " + state + (detail ? " (" + detail + ")" : "");
      box.appendChild(tick);
    });
  }

  function pollTicks() {
    var ids = Object.keys(pending).slice(0, 200);
    if (ids.length === 0) { setTimeout(pollTicks, 500); return; }
    fetch("/api/ticks?ids=" + encodeURIComponent(ids.join(",")), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (found) {
        Object.keys(found).forEach(function (id) {
          var item = pending[id];
          if (!item) { return; }
          drawTicks(item, found[id]);
          if (found[id].final) { delete pending[id]; }
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(pollTicks, 500); });
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }

  Array.prototype.forEach.call(list.querySelectorAll("li.msg"), function (item) {
    addAnswer(item);
    pending[item.dataset.id] = item;
  });
  pollTicks();

  if (!list.dataset.events) { return; }
  var source = null;

  function connect() {
    source = new EventSource(list.dataset.events + "?after=" + last);
    source.onopen = function () { setState("live"); };
    source.onmessage = function (event) {
      var m = JSON.parse(event.data);
      received += 1;
      list.dataset.received = String(received);
      if (m.seq <= last) {  // never expected: counted so that tests would see it
        duplicates += 1;
        list.dataset.duplicates = String(duplicates);
        return;
      }
      var follow = nearBottom();
      var item = render(m);
      list.appendChild(item);
      last = m.seq;
      list.dataset.last = String(last);
      pending[m.id] = item;
      if (follow) { item.scrollIntoView({ block: "end" }); }
    };
    source.onerror = function () {
      setState("reconnecting…");
      if (source.readyState === EventSource.CLOSED) {  // the browser gave up: start again
        setTimeout(connect, 1000);
      }
    };
  }
  list.dataset.duplicates = "0";
  list.dataset.last = String(last);
  connect();
}());
