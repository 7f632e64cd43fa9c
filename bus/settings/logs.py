"""Log lines that say which delivery they are about, as text or as JSON for log collectors.

Every record logged with ``extra={"agent": ..., "channel": ..., "seq": ..., "message_id": ...}``
(as :mod:`bus.worker.runtime` does on the ``bus.delivery`` logger) carries those fields: in
text, as ``agent=alice channel=#engineering seq=3 message_id=...`` after the message; in JSON,
as keys of the line's object. A line logged while a handler runs also carries the handled
message's ``message_id`` and ``causation_id``, and one logged in a span (OpenTelemetry, or a
trace context a message brought) its ``trace_id`` and ``span_id``. ``BUS_LOG_FORMAT=json``
switches a worker to one JSON object per line (``celery -A bus worker`` included, through
:func:`install_worker_logging`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from bus.tracing.log_fields import trace_fields

#: The record attributes that place a log line: which agent, channel, sequence number, message.
CONTEXT_FIELDS = ("agent", "channel", "seq", "message_id", "task_id", "task_name")
#: The text format when none is given (the worker keeps Celery's own).
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Names of the log formats ``BUS_LOG_FORMAT`` accepts.
LogFormat = Literal["text", "json"]


def _context(record: logging.LogRecord) -> dict[str, Any]:
    fields = {name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)}
    # The message being handled and the current span, unless the record names them itself.
    for name, value in trace_fields().items():
        fields.setdefault(name, value)
    return fields


def _task() -> dict[str, str]:
    """The Celery task this line is logged from, if any (so a line can be found in Flower)."""
    try:
        from celery._state import get_current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return {}
    task = get_current_task()
    if task is None or task.request.id is None:
        return {}
    return {"task_id": str(task.request.id), "task_name": str(task.name)}


def _shown(context: dict[str, Any]) -> dict[str, Any]:
    """The fields a text line shows: ``channel=DM`` for a direct message (its channel is
    ``None``); any other empty field (a run started without a delivery task has no
    ``task_id``) is left out rather than shown as a made-up value."""
    shown = {key: value for key, value in context.items() if value is not None}
    if "channel" in context and context["channel"] is None:
        shown["channel"] = "DM"
    return {key: shown[key] for key in context if key in shown}


class ContextFormatter(logging.Formatter):
    """Any text format, followed by ``key=value`` for each delivery field the record has
    (``channel=DM`` for a direct message; empty fields left out)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = " ".join(f"{key}={value}" for key, value in _shown(_context(record)).items())
        if not pairs:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{head} {pairs}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the delivery fields, the task."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
        }
        entry.update(_task())  # the Celery task of this thread, unless the record names one
        entry.update(_context(record))
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def formatter(json_lines: bool, fmt: str | None = None) -> logging.Formatter:
    """The formatter for ``json_lines`` (JSON) or text in ``fmt``."""
    return JsonFormatter() if json_lines else ContextFormatter(fmt or TEXT_FORMAT)


def configure_logging(level: int | str = logging.INFO, json: bool = False) -> logging.Handler:
    """Log to stderr at ``level``, as text with delivery fields or as JSON lines.

    Replaces the handler a previous call installed (not other handlers).

    Returns:
        The handler installed on the root logger.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "bus_installed", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(json))
    handler.bus_installed = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return handler


def log_format_from_settings() -> LogFormat:
    """``BUS_LOG_FORMAT`` as read by :class:`bus.settings.schema.BusSettings` (text if
    unreadable)."""
    from pydantic import ValidationError

    from bus.settings.schema import BusSettings

    try:
        return "json" if BusSettings().log_format == "json" else "text"
    except ValidationError:
        return "text"  # the worker reports bad settings itself when it builds its app


def _reformat(logger: logging.Logger, fmt: str | None, *, task_logger: bool) -> None:
    json_lines = log_format_from_settings() == "json"
    if task_logger and not json_lines:
        return  # Celery's task format already names the task; there is nothing to add
    for handler in logger.handlers:
        handler.setFormatter(formatter(json_lines, fmt))


def _after_setup_logger(logger: logging.Logger, format: str | None = None, **_: Any) -> None:
    _reformat(logger, format, task_logger=False)


def _after_setup_task_logger(logger: logging.Logger, format: str | None = None, **_: Any) -> None:
    _reformat(logger, format, task_logger=True)


def install_worker_logging() -> None:
    """Make Celery's worker logging use these formatters (idempotent).

    Connects to Celery's ``after_setup_logger`` and ``after_setup_task_logger`` signals, which
    only the ``celery`` command's logging setup sends: an embedded worker's logging is untouched.
    """
    from celery.signals import after_setup_logger, after_setup_task_logger

    after_setup_logger.connect(_after_setup_logger, weak=False, dispatch_uid="bus.settings.logs")
    after_setup_task_logger.connect(
        _after_setup_task_logger, weak=False, dispatch_uid="bus.settings.logs.task"
    )
