"""What bus is set against, measured in the same run on the same transport: plain Kombu
consumers (:mod:`~bench.baselines.raw_kombu`), one plain Celery task per delivery
(:mod:`~bench.baselines.raw_celery`, whose worker runs :mod:`~bench.baselines.raw_celery_app`),
and the same LLM agents on one plain asyncio loop (:mod:`~bench.baselines.asyncio_peer`, which
imports nothing of bus). The cases in :mod:`bench.cases` run each beside bus's own figure.
"""
