"""Benchmarks of the bus beside raw Kombu, raw Celery and a plain asyncio peer, per transport.

``python -m bench --help`` runs them. The layout:

- :mod:`bench.cases`: every figure, one case per module behind one interface;
- :mod:`bench.baselines`: what bus is set against, measured in the same run;
- :mod:`bench.harness`: how the cases drive bus (buses, workers, the agents they host);
- :mod:`bench.common`: the run, namespaces, JSON-line records, shared by all three;
- the run's outputs: :mod:`bench.report` (``bench/results/latest.md``), :mod:`bench.history`
  (``bench/history.jsonl``), :mod:`bench.readme` (the README's table);
- :mod:`bench.profiling`: a tool, not a figure (pyinstrument profiles of the pull path).

Nothing here is imported by ``bus``; ``bench`` uses bus's public API (and :mod:`bus.testing`).
"""
