"""The case interface: a benchmark case is a name, a group and ``run(transport, args)``.

A case measures one workload on one transport and returns :class:`Figure` records: typed, with
the baseline they are compared with and the ratio to it, so a table can show "0.09 of the
limit" without knowing the case. ``Figure.record()`` gives the JSON-line dict the rest of the
benchmark (``bench.report``) reads.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bench.common import Run


@dataclass(frozen=True)
class Figure:
    """One measured figure.

    Args:
        name: What is measured, e.g. ``agents_20x0.2s_fixed_runs_per_s``.
        value: The measurement (``None`` when it could not be made; ``error`` says why).
        unit: Its unit, e.g. ``runs/s``, ``ms``, ``MB``.
        transport: ``memory``, ``redis``, ``amqp``, or ``asyncio`` for an in-process peer.
        n: Messages (or handler runs) the figure is over.
        baseline: What the value is compared with (a figure's name, or e.g. ``limit N/L``).
        baseline_value: That baseline's value, in the same unit.
        ratio: ``value / baseline_value``.
        target: The ratio (or value) the issue asks for, if any.
        error: Why the figure is missing.
        extra: Anything else worth keeping in the JSON line (sizes, percentiles, settings).
    """

    name: str
    value: float | None
    unit: str
    transport: str
    n: int | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    target: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def against(
        cls,
        name: str,
        value: float,
        unit: str,
        transport: str,
        *,
        baseline: str,
        baseline_value: float,
        **fields: Any,
    ) -> Figure:
        """A figure with its ratio to ``baseline_value`` filled in."""
        ratio = value / baseline_value if baseline_value else None
        return cls(
            name,
            value,
            unit,
            transport,
            baseline=baseline,
            baseline_value=baseline_value,
            ratio=ratio,
            **fields,
        )

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Figure:
        """A figure from a JSON-line dict (:data:`bench.common.Record`, what the measuring
        functions of the baselines and the parts of cases return): the known keys become
        fields, the rest ``extra``."""
        known = {"transport", "figure", "value", "unit", "n", "baseline", "baseline_value"}
        known |= {"ratio", "target", "error"}
        return cls(
            record["figure"],
            record.get("value"),
            record.get("unit") or "",
            record["transport"],
            n=record.get("n"),
            baseline=record.get("baseline"),
            baseline_value=record.get("baseline_value"),
            ratio=record.get("ratio"),
            target=record.get("target"),
            error=record.get("error"),
            extra={key: value for key, value in record.items() if key not in known},
        )

    def compared(self, baseline: Figure, target: float | None = None) -> Figure:
        """This figure with its ratio to ``baseline`` (and the issue's target) filled in."""
        if self.value is None or not baseline.value:
            return replace(self, baseline=baseline.name, target=target)
        return replace(
            self,
            baseline=baseline.name,
            baseline_value=baseline.value,
            ratio=self.value / baseline.value,
            target=target,
        )

    def record(self) -> dict[str, Any]:
        """The JSON-line form of :mod:`bench.common` (transport, figure, value, unit, n, ...)."""
        out: dict[str, Any] = {
            "transport": self.transport,
            "figure": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "n": self.n,
        }
        for key in ("baseline", "baseline_value", "ratio", "target", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = _round(value) if isinstance(value, float) else value
        out.update(self.extra)
        return out


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) >= 1 else round(value, 6)


@dataclass(frozen=True)
class CaseArgs:
    """What a run gives every case: its sizes and its namespaces.

    Args:
        run: The run (namespace; ``run.ns(figure)`` gives a figure its own).
        quick: Small sizes, for a smoke run.
        messages: Overrides the case's message count, if set.
        seconds: Overrides the case's time budget per measurement, if set.
        mem_messages: Overrides the RSS figure's message count, if set.
        parts: Only these parts of a case with parts (:mod:`bench.cases.parts`), if set.
    """

    run: Run
    quick: bool = False
    messages: int | None = None
    seconds: float | None = None
    #: Messages of the RSS figure on memory:// (Redis: a quarter), if set.
    mem_messages: int | None = None
    #: Parts of cases to run (``--only`` names of the parts, e.g. ``bus_hosted``), if set.
    parts: tuple[str, ...] | None = None


class Case(Protocol):
    """A benchmark case (see the module doc)."""

    #: Unique, used by ``--only``.
    name: str
    #: Which part of the system it measures, e.g. ``runtime``.
    group: str

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Measure on ``transport``; a figure that fails carries ``error`` instead of a value."""
        ...


def alternating(
    transport: str,
    label: str,
    modes: tuple[str, str],
    repeat: int,
    measure: Callable[[str, int], dict[str, float]],
) -> dict[tuple[str, str], list[float]]:
    """``measure(mode, attempt)`` for each mode ``repeat`` times, the modes alternating (so a
    slower stretch of a shared machine falls on both); its figures by ``(what, mode)``, as
    :func:`paired_figures` takes them."""
    samples: dict[tuple[str, str], list[float]] = {}
    for attempt in range(repeat):
        for mode in modes:
            print(
                f"[bench] {transport}: {label} {mode}, run {attempt + 1} of {repeat} ...",
                file=sys.stderr,
                flush=True,
            )
            for what, value in measure(mode, attempt).items():
                samples.setdefault((what, mode), []).append(value)
    return samples


def paired_figures(
    samples: dict[tuple[str, str], list[float]],
    units: dict[str, str],
    modes: tuple[str, str],
    prefix: str,
    transport: str,
    *,
    n: int,
    repeat: int,
    target: float | None = None,
) -> list[Figure]:
    """The medians of runs of two modes measured alternately (``samples[(what, mode)]``): per
    figure ``what``, ``<prefix>_<first mode>_<what>`` and ``<prefix>_<second mode>_<what>``
    against it."""
    first, second = modes
    detail = {"repeat": repeat, "median_of": "alternating runs"}
    figures: list[Figure] = []
    for what, unit in units.items():
        before, after = samples[(what, first)], samples[(what, second)]
        name = f"{prefix}_{first}_{what}"
        figures.append(
            Figure(
                name,
                statistics.median(before),
                unit,
                transport,
                n=n,
                extra={**detail, "runs": [round(value, 1) for value in before]},
            )
        )
        figures.append(
            Figure.against(
                f"{prefix}_{second}_{what}",
                statistics.median(after),
                unit,
                transport,
                n=n,
                baseline=name,
                baseline_value=statistics.median(before),
                target=target,
                extra={**detail, "runs": [round(value, 1) for value in after]},
            )
        )
    return figures
