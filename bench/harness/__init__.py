"""How the cases drive bus: the buses of a publisher and its receiving threads
(:mod:`~bench.harness.pulling`), a solo worker like the raw Celery baseline's hosting the
counting agents (:mod:`~bench.harness.solo_worker`, :mod:`~bench.harness.solo_agents`), a worker
with default options hosting the LLM-shaped agents (:mod:`~bench.harness.llm_worker`,
:mod:`~bench.harness.llm_agents`, :mod:`~bench.harness.llm_workload`), and turning recorded
handler runs into rates and delays (:mod:`~bench.harness.runs`). Nothing here is a figure.

This package imports nothing of bus itself (the asyncio peer imports the LLM workload from it).
"""
