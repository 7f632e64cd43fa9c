"""A case made of parts: each part is one measuring function (a baseline's of
:mod:`bench.baselines`, or the bus's own figure's in the case's module), run in order, with a
progress line each on stderr; the case then types their records as
:class:`~bench.cases.base.Figure` and compares each bus figure with its baseline
(:class:`Compare`)."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bench.cases.base import CaseArgs, Figure

#: A part: ``(transport, args) -> JSON-line records``.
Measure = Callable[[str, CaseArgs], list[dict[str, Any]]]


@dataclass(frozen=True)
class Compare:
    """Figure ``name`` against figure ``baseline`` of the same run (and transport).

    Args:
        name: The bus's figure.
        baseline: What it is compared with (a raw Celery, raw Kombu or other bus figure).
        target: The ratio the issue asks for, per transport (``"*"``: every transport).
    """

    name: str
    baseline: str
    target: dict[str, float] | None = None

    def target_on(self, transport: str) -> float | None:
        if self.target is None:
            return None
        return self.target.get(transport, self.target.get("*"))


@dataclass(frozen=True)
class Target:
    """A figure whose value itself has a target (a ceiling: e.g. at most 10 ms)."""

    name: str
    target: dict[str, float]


class PartsCase:
    """A :class:`~bench.cases.base.Case` of named parts.

    Args:
        name: The case's name (``--only`` takes it, or any part's name).
        group: What it measures.
        parts: ``(part name, measure)`` in the order they run.
        compare: Ratios to fill in; ``targets``: value targets.
    """

    def __init__(
        self,
        name: str,
        group: str,
        parts: tuple[tuple[str, Measure], ...],
        compare: tuple[Compare, ...] = (),
        targets: tuple[Target, ...] = (),
    ) -> None:
        self.name = name
        self.group = group
        self.parts = parts
        self.compare = compare
        self.targets = targets

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parts)

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        figures: list[Figure] = []
        for part, measure in self.parts:
            if args.parts is not None and part not in args.parts:
                continue
            started = time.monotonic()
            print(f"[bench] {transport}: {self.name}/{part} ...", file=sys.stderr, flush=True)
            try:
                figures += [Figure.from_record(record) for record in measure(transport, args)]
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                error = f"{type(exc).__name__}: {exc}"
                figures.append(Figure(part, None, "", transport, n=args.run.n, error=error))
            print(
                f"[bench] {transport}: {self.name}/{part} done in "
                f"{time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        return self._typed(transport, figures)

    def _typed(self, transport: str, figures: list[Figure]) -> list[Figure]:
        by_name = {figure.name: figure for figure in figures}
        for rule in self.compare:
            figure, baseline = by_name.get(rule.name), by_name.get(rule.baseline)
            if figure is not None and baseline is not None:
                by_name[rule.name] = figure.compared(baseline, rule.target_on(transport))
        for value_target in self.targets:
            figure = by_name.get(value_target.name)
            goal = value_target.target.get(transport, value_target.target.get("*"))
            if figure is not None and goal is not None:
                by_name[value_target.name] = replace(figure, target=goal)
        return [by_name[figure.name] for figure in figures]
