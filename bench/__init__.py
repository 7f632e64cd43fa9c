"""Benchmarks of the bus against raw Kombu and raw Celery, side by side, per transport.

Run ``python -m bench --help``. Each figure is one JSON line (see :mod:`bench.common`); the run
ends with a markdown table of the figures and their ratios (see :mod:`bench.report`).
Nothing here is imported by ``bus``; ``bench`` only uses bus's public API.
"""
