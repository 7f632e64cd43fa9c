"""``python -m bench.readme``: rewrite the README's benchmark table from the newest run of
``bench/history.jsonl`` (between :data:`START` and :data:`END`). A test checks that the README
holds what :func:`render` makes of the newest entry, so the table cannot drift from the
history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.history import newest

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- bench:table:start (python -m bench.readme writes this) -->"
END = "<!-- bench:table:end -->"
TRANSPORTS = ("memory", "redis", "amqp")

#: (row label, figure, what the cell shows: "ratio" or "value", the issue's target as text): the
#: targets of issue 22, with the settings a new user gets, then the rows that explain them.
ROWS = (
    ("hosted deliveries/s / raw Celery (a task per delivery, same pool)", "bus_hosted", "ratio",
     ">= 1.5; Redis >= 2.0"),
    ("the same, a delivery per message (`BUS_COALESCE_DELIVERIES=false`)",
     "bus_hosted_per_message", "ratio", "-"),
    ("pull `receive` deliveries/s / raw Kombu consume", "bus_pull", "ratio",
     ">= 0.8; Redis >= 1.0"),
    ("the same, a delivery per message (`BUS_COALESCE_DELIVERIES=false`)",
     "bus_pull_per_message", "ratio", "-"),
    ("the same with `BUS_RECEIVE_BATCH=32` (at least once)", "bus_pull_batch32", "ratio", "-"),
    ("publish → `receive` p50", "bus_latency_p50", "value",
     "<= 0.3 ms; brokers <= 1.5 ms"),
    ("publish → handler p50 (hosted)", "bus_hosted_latency", "value", "<= 2 ms on brokers"),
    ("publish → `receive` deliveries/s / the in-process asyncio peer",
     "peer_bus_pull_deliveries_per_s", "ratio", ">= 0.5 (memory)"),
    ("`AsyncBus` / sync `Bus`, `receive` deliveries/s", "receive_async_pull_deliveries_per_s",
     "ratio", ">= 0.9 on each"),
    ("publish to a channel of 1,000 idle members", "scale_publish_ms_1000_members", "value",
     "<= 10 ms; RabbitMQ <= 50 ms"),
    ("register + subscribe 1,000 agents x 10 channels", "scale_register_subscribe_s", "value",
     "<= 5 s on each"),
    ("fan-out: deliveries/s at 100 subscribers / at 1", "fanout_100_deliveries_per_s", "ratio",
     ">= 0.7 on each"),
    ("OpenAI SDK (httpx), 200 agents x 1 s: runs/s / limit", "sdk_200x1s_openai_runs_per_s",
     "ratio", ">= 0.8 on each"),
    ("OpenAI SDK (aiohttp), 200 agents x 1 s: runs/s / limit",
     "sdk_200x1s_openai_aiohttp_runs_per_s", "ratio", ">= 0.8 on each"),
    ("LLM-shaped (handlers await a sleep), 200 agents x 1 s: runs/s / limit",
     "agents_200x1s_fixed_sleep_runs_per_s", "ratio", ">= 0.95 on each"),
    ("the same on the plain asyncio loop (the peer)", "agents_200x1s_fixed_peer_sleep_runs_per_s",
     "ratio", "-"),
    ("Redis store bytes per retained message (512 B content)", "store_bytes_per_message",
     "value", "-"),
)  # fmt: skip


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(figure: dict[str, Any] | None, show: str) -> str:
    if figure is None:
        return "-"
    if figure.get("error") or figure.get("value") is None:
        return "error"
    target = figure.get("target")
    if show == "ratio":
        ratio = figure.get("ratio")
        if ratio is None:
            return "-"
        text = f"{ratio:.2f} ({_number(figure['value'])} / {_number(figure['baseline_value'])})"
        met = None if target is None else ratio >= target
    else:
        text = f"{_number(figure['value'])} {figure['unit']}"
        met = None if target is None else figure["value"] <= target
    return text if met is None else (f"{text} met" if met else f"**{text}** not met")


def render(run: dict[str, Any]) -> str:
    """The README's section for one history entry: command, machine, the targets' table."""
    index = {(f["transport"], f["figure"]): f for f in run["figures"]}
    machine = run["machine"]
    versions = run["versions"]
    lines = [
        START,
        "",
        f"Newest run in `bench/history.jsonl`: `{run['command']}` on {run['date']}, commit "
        f"`{run['commit']}`; {machine.get('nproc')} cores ({machine.get('cpu')}), load "
        f"{machine.get('loadavg_at_start')} at start, shared with other work, so ratios within a "
        f"run are what count; {machine.get('seconds')} s. Celery {versions.get('celery')}, kombu "
        f"{versions.get('kombu')}, redis-py {versions.get('redis-py')}, Redis "
        f"{versions.get('redis-server')}, RabbitMQ {versions.get('rabbitmq')}.",
        "",
        "| figure | memory | Redis | RabbitMQ | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, name, show, target in ROWS:
        cells = [_cell(index.get((transport, name)), show) for transport in TRANSPORTS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    lines += ["", END]
    return "\n".join(lines)


def section(text: str) -> str | None:
    """The README's current section (markers included), or ``None`` if it has none."""
    if START not in text or END not in text:
        return None
    return text[text.index(START) : text.index(END) + len(END)]


def main() -> int:
    run = newest()
    if run is None:
        print("bench/history.jsonl has no run yet: python -m bench --record", file=sys.stderr)
        return 1
    text = README.read_text()
    current = section(text)
    if current is None:
        print(f"README.md has no {START!r} ... {END!r} section", file=sys.stderr)
        return 1
    README.write_text(text.replace(current, render(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
