"""Reading history: a stream's retained messages, oldest first, with filters checked."""

from __future__ import annotations

from datetime import datetime

from bus.channels import Retention
from bus.errors import InvalidArgument
from bus.message import Message
from bus.store import Store


def _check_count(label: str, value: int | None, stream: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidArgument(
            f"{label} must be an integer >= 0, not {value!r}", field=label, stream=stream
        )


def _since_ms(since: datetime | None, retention: Retention, stream: str) -> int | None:
    since_ms = None
    if since is not None:
        if not isinstance(since, datetime) or since.tzinfo is None:
            raise InvalidArgument(
                f"since must be a timezone-aware datetime, not {since!r}",
                field="since",
                stream=stream,
            )
        since_ms = int(since.timestamp() * 1000)
    if retention.max_age_seconds is not None:
        # Age trimming happens on append: a quiet stream may still hold what is past its age.
        cutoff = int((datetime.now().timestamp() - retention.max_age_seconds) * 1000)
        since_ms = cutoff if since_ms is None else max(since_ms, cutoff)
    return since_ms


def read_history(
    store: Store,
    stream: str,
    retention: Retention,
    *,
    limit: int | None,
    after: int | None,
    since: datetime | None,
) -> list[Message]:
    """The retained messages of ``stream``: those after seq ``after``, at or after ``since``,
    and of those the newest ``limit`` (each filter optional), oldest first.

    Raises:
        InvalidArgument: a negative or non-integer count, a naive or non-datetime ``since``.
    """
    _check_count("limit", limit, stream)
    _check_count("after", after, stream)
    since_ms = _since_ms(since, retention, stream)
    entries = store.log.history(stream, newest=limit, after=after, since_ms=since_ms)
    # A seq lost in a store failover holds a mark (a fence, logged when it was put up).
    return [Message.from_json(entry.json) for entry in entries if not entry.lost]
