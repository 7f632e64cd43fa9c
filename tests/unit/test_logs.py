"""Text and JSON log lines of deliveries: the fields a line carries, and none made up."""

from __future__ import annotations

import json
import logging

from bus.settings.logs import ContextFormatter, JsonFormatter


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("bus.delivery", logging.INFO, __file__, 1, "handled", (), None)
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def test_a_run_started_without_a_delivery_task_shows_no_task_id() -> None:
    # What a run started inside a worker (a post to an agent it hosts) logs: no task id.
    record = _record(agent="alice", channel="#eng", seq=3, task_id=None, task_name="bus.deliver")

    line = ContextFormatter("%(message)s").format(record)

    assert line == "handled agent=alice channel=#eng seq=3 task_name=bus.deliver"


def test_a_direct_message_is_shown_as_channel_dm() -> None:
    record = _record(agent="alice", channel=None, seq=1, task_id="abc")

    line = ContextFormatter("%(message)s").format(record)

    assert line == "handled agent=alice channel=DM seq=1 task_id=abc"


def test_a_line_without_delivery_fields_is_left_as_it_is() -> None:
    assert ContextFormatter("%(message)s").format(_record()) == "handled"


def test_json_keeps_an_empty_field_as_null() -> None:
    entry = json.loads(JsonFormatter().format(_record(agent="alice", channel=None, task_id=None)))

    assert (entry["agent"], entry["channel"], entry["task_id"]) == ("alice", None, None)
