"""What a worker process remembers of the messages it gave up on: every failure's text for a
late delivery to report, and the handler's traceback for the latest ones only."""

from __future__ import annotations

from bus.worker.outcomes import HandlerError, Remembered


def _failed(n: int) -> HandlerError:
    try:
        raise RuntimeError(f"boom {n}")
    except RuntimeError as exc:
        return HandlerError(f"handler: RuntimeError: boom {n}", exc)


def test_the_latest_failures_keep_their_handlers_traceback_as_text() -> None:
    remembered = Remembered()
    count = Remembered.TRACEBACKS + 10
    for n in range(count):
        remembered.remember(("a", "c:#x", n), _failed(n))
    assert len(remembered) == count  # every failure's text
    assert all(type(error) is str for error in remembered.values())  # no frames kept there
    assert remembered.cause_of(("a", "c:#x", 0)) is None  # beyond the latest: text only
    latest = str(remembered.cause_of(("a", "c:#x", count - 1)))
    assert "RuntimeError: boom" in latest
    assert "test_outcomes.py" in latest  # the handler's own frame
    assert remembered.cause_of(("a", "c:#x", count)) is None  # never given up on


def test_a_failure_without_an_exception_keeps_no_traceback() -> None:
    remembered = Remembered()
    remembered.remember(("a", "c:#x", 1), "refused: forged")
    assert remembered[("a", "c:#x", 1)] == "refused: forged"
    assert remembered.cause_of(("a", "c:#x", 1)) is None
