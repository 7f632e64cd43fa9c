"""Table-driven checks that report every failing case at once, not only the first.

Where a table's cases share an expensive fixture (a bus with a world in it, on three
transports), running each case as its own parametrised test would rebuild that fixture per case;
:class:`Cases` runs them all in one test and fails it once, listing each case that failed::

    cases = Cases()
    for name in BAD_NAMES:
        with cases.case(f"register_agent({name!r})"):
            refuse(...)
    cases.verify()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

#: What a failed case raises: an ``assert``, ``pytest.fail`` (``pytest.raises`` that saw
#: nothing), or an exception the code under test should not have raised.
_FAILURES = (pytest.fail.Exception, Exception)


class Cases:
    """Collects the failures of a table's cases; :meth:`verify` fails with all of them.

    Args:
        after_failure: called after each failed case, e.g. to take a new baseline, so that one
            case that changed state does not make every later case fail too.
    """

    def __init__(self, after_failure: Callable[[], object] | None = None) -> None:
        self.failures: list[str] = []
        self.ran = 0
        self._after_failure = after_failure

    @contextmanager
    def case(self, name: str) -> Iterator[None]:
        """Run one case (the ``with`` body); a failure is recorded under ``name``, not raised."""
        self.ran += 1
        try:
            yield
        except _FAILURES as exc:
            first = str(exc).strip().splitlines()[:1] or [""]
            self.failures.append(f"{name}: {type(exc).__name__}: {first[0]}")
            if self._after_failure is not None:
                self._after_failure()

    def verify(self) -> None:
        """Fail listing every failed case; pass if none failed (and at least one ran)."""
        assert self.ran, "no case ran"
        if self.failures:
            listing = "\n  ".join(self.failures)
            pytest.fail(f"{len(self.failures)} of {self.ran} cases failed:\n  {listing}")
