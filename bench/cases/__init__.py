"""Benchmark cases behind one small interface (:mod:`bench.cases.base`): each is a
:class:`~bench.cases.base.Case` with a name, a group and ``run(transport, args)`` returning
typed :class:`~bench.cases.base.Figure` records.

Cases of the agent runtime (issue 9): ``agents`` (the LLM-shaped workload beside its asyncio
peer) and ``isolation`` (a fast agent beside a slow one in one worker). The registry and the
runner live in :mod:`bench.cases.registry`, so importing a case's helpers (the asyncio peer)
does not import them all.
"""
