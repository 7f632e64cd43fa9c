"""The run's header (versions, machine) and the markdown table of figures and ratios."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.common import AMQP_URL, REDIS_URL, TRANSPORTS, Record

#: (label, numerator figure, denominator figure): how much of the baseline the bus reaches.
RATIOS = (
    ("bus_pull / raw_kombu (deliveries/s)", "bus_pull", "raw_kombu"),
    ("bus_pull_batch32 / raw_kombu (deliveries/s)", "bus_pull_batch32", "raw_kombu"),
    ("raw_celery / raw_kombu (deliveries/s)", "raw_celery", "raw_kombu"),
    ("bus_hosted / raw_celery (deliveries/s)", "bus_hosted", "raw_celery"),
    ("bus_latency_p50 / raw_kombu_latency_p50", "bus_latency_p50", "raw_kombu_latency_p50"),
    (
        "fan-out cost per delivery, 100 vs 1 subscribers",
        "fanout_100_us_per_delivery",
        "fanout_1_us_per_delivery",
    ),
    (
        "fan-out deliveries/s, 100 vs 1 subscribers",
        "fanout_100_deliveries_per_s",
        "fanout_1_deliveries_per_s",
    ),
    (
        "AsyncBus / Bus receive, publishing beside (deliveries/s)",
        "receive_async_pull_deliveries_per_s",
        "receive_sync_pull_deliveries_per_s",
    ),
    (
        "AsyncBus / Bus receive, a backlog (messages/s)",
        "receive_async_backlog_messages_per_s",
        "receive_sync_backlog_messages_per_s",
    ),
    (
        "bus / in-process asyncio peer, pull (deliveries/s)",
        "peer_bus_pull_deliveries_per_s",
        "peer_asyncio_pull_deliveries_per_s",
    ),
    (
        "bus / in-process asyncio peer, fan-out to 100 (deliveries/s)",
        "peer_bus_fanout_100_deliveries_per_s",
        "peer_asyncio_fanout_100_deliveries_per_s",
    ),
    (
        "bus / in-process asyncio peer, latency p50",
        "peer_bus_latency_p50_ms",
        "peer_asyncio_latency_p50_ms",
    ),
    (
        "publish cost, 1000 vs 10 members",
        "scale_publish_ms_1000_members",
        "scale_publish_ms_10_members",
    ),
    (
        "auth required / off, hosted deliveries per worker CPU s",
        "auth_required_hosted_per_cpu_s",
        "auth_off_hosted_per_cpu_s",
    ),
    (
        "auth required / off, publish per CPU s",
        "auth_required_publish_per_cpu_s",
        "auth_off_publish_per_cpu_s",
    ),
    (
        "auth required / off, pull per CPU s",
        "auth_required_pull_per_cpu_s",
        "auth_off_pull_per_cpu_s",
    ),
)


def _command(*args: str) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or "").strip()
    return text.splitlines()[-1] if done.returncode == 0 and text else None


def _redis_server() -> str:
    try:
        import redis

        return str(
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).info("server")[
                "redis_version"
            ]
        )
    except Exception:
        return _command("redis-server", "--version") or "unknown"


def _rabbitmq() -> str:
    version = _command("rabbitmqctl", "version")
    if version:
        return version
    try:
        from kombu import Connection

        with Connection(AMQP_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
            properties = connection.connection.server_properties
            return str(properties.get("version", "unknown")) + " (from the AMQP handshake)"
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"


def _proc(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def environment() -> dict[str, Any]:
    """Versions of everything measured, and the machine."""
    import amqp
    import celery
    import kombu
    import redis

    return {
        "python": platform.python_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "redis-py": redis.__version__,
        "amqp": amqp.__version__,
        "redis-server": _redis_server(),
        "rabbitmq": _rabbitmq(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _proc("/proc/cpuinfo", "model name"),
        "memory": _proc("/proc/meminfo", "MemTotal"),
        "loadavg_at_start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "platform": platform.platform(),
    }


def _cell(item: Record | None) -> str:
    if item is None:
        return ""
    if item.get("skipped"):
        return f"skipped: {item['skipped']}"
    if item.get("error"):
        return f"error: {item['error'][:80]}"
    value = item["value"]
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{shown} {item['unit']}"


def markdown(env: dict[str, Any], figures: list[Record], skipped: dict[str, str], args: str) -> str:
    """The report: header, one row per figure and one column per transport, then ratios."""
    transports = [name for name in TRANSPORTS if any(f["transport"] == name for f in figures)]
    index = {(f["transport"], f["figure"]): f for f in figures}
    names = list(dict.fromkeys(f["figure"] for f in figures))
    lines = ["# bus benchmark", "", f"Arguments: `{args}`", ""]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    lines += [f"- transport {name} skipped: {why}" for name, why in skipped.items()]
    lines += [
        "",
        "| figure | n | " + " | ".join(transports) + " |",
        "|---|---|" + "---|" * len(transports),
    ]
    for name in names:
        cells = [index.get((transport, name)) for transport in transports]
        n = next((c["n"] for c in cells if c is not None and c.get("n") is not None), "")
        lines.append(f"| {name} | {n} | " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "| ratio | " + " | ".join(transports) + " |", "|---|" + "---|" * len(transports)]
    for label, top, bottom in RATIOS:
        ratios: list[str] = []
        for transport in transports:
            a, b = index.get((transport, top)), index.get((transport, bottom))
            if a is None or b is None or a.get("value") is None or not b.get("value"):
                why = (a or {}).get("skipped") or (b or {}).get("skipped") or "not measured"
                ratios.append(f"n/a ({why})")
            else:
                ratios.append(f"{a['value'] / b['value']:.3f}")
        lines.append(f"| {label} | " + " | ".join(ratios) + " |")
    rss = [f for f in figures if f["figure"].startswith("rss_") and f.get("samples")]
    if rss:
        lines += ["", "RSS samples (messages published, MB):", ""]
        lines += [
            f"- {f['transport']} {f['figure']} ({f['mode']}): "
            + ", ".join(f"{count}: {mb}" for count, mb in f["samples"])
            for f in rss
        ]
    return "\n".join(lines) + "\n"
