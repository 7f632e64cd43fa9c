"""What became of a message a delivery task waited for (reported in its result, in Flower)."""

from __future__ import annotations

import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """What became of the message a delivery task waited for."""

    HANDLED = "handled"
    #: Its handlers kept failing: it is a dead letter now.
    FAILED = "failed"
    #: Handled before the delivery came (a redelivery, a run that read ahead, or trimmed).
    ALREADY = "already"
    #: Handled by the active run; the delivery did not wait (somebody waits on the run already).
    DEFERRED = "deferred"
    #: Another worker process holds the stream's lease; its run handles the message.
    ELSEWHERE = "elsewhere"
    #: The worker is stopping, or the store failed: the message was not handled here.
    INTERRUPTED = "interrupted"


class HandlerError(str):
    """What failed in a message's handlers (each handler and why), carrying the first failing
    handler's exception: the delivery task that reports the failure raises from it, so Celery
    (and Flower) record the handler's own traceback. Stored and logged as a plain string."""

    exception: BaseException | None

    def __new__(cls, text: str, exception: BaseException | None = None) -> HandlerError:
        made = super().__new__(cls, text)
        made.exception = exception
        return made


@dataclass
class Outcome:
    """What a delivery task reports."""

    status: Status
    #: Seqs the run handled while the delivery waited, its own included.
    handled: list[int] = field(default_factory=list)
    error: str | None = None
    #: The handler's exception behind a failure, when this process ran the handler.
    cause: BaseException | None = None


class HandlerTraceback(Exception):
    """A handler's traceback as text: what a delivery that came after its message was given up
    on reports as its cause (as ``multiprocessing``'s ``RemoteTraceback`` does), so Flower shows
    the handler's own frames whichever delivery reports the failure."""

    def __str__(self) -> str:
        return str(self.args[0])


class Remembered(OrderedDict[tuple[str, str, int], str]):
    """The latest messages this process gave up on (dead-lettered), and why: a delivery that
    comes after its message was given up on still reports the failure (Flower shows it), with
    the handler's traceback for the latest :attr:`TRACEBACKS` of them."""

    LIMIT = 10_000
    #: How many of the latest failures keep their handler's traceback, as text (at most
    #: :attr:`TRACEBACK_CHARS` each): a late delivery comes within seconds, not thousands later.
    TRACEBACKS = 256
    TRACEBACK_CHARS = 8_000

    def __init__(self) -> None:
        super().__init__()
        self._tracebacks: OrderedDict[tuple[str, str, int], str] = OrderedDict()

    def remember(self, key: tuple[str, str, int], error: str) -> None:
        """Keep ``key``'s failure, forgetting the oldest beyond :attr:`LIMIT`."""
        self[key] = str(error)  # never a HandlerError: its exception holds frames alive
        while len(self) > self.LIMIT:
            self.popitem(last=False)
        exception = error.exception if isinstance(error, HandlerError) else None
        if exception is not None:
            text = "".join(traceback.format_exception(exception))
            self._tracebacks[key] = text[-self.TRACEBACK_CHARS :]
            while len(self._tracebacks) > self.TRACEBACKS:
                self._tracebacks.popitem(last=False)

    def cause_of(self, key: tuple[str, str, int]) -> HandlerTraceback | None:
        """The handler's traceback behind ``key``'s failure, if it is still kept."""
        text = self._tracebacks.get(key)
        return None if text is None else HandlerTraceback(f'\n"""\n{text}"""')
