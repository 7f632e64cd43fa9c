"""The benchmark's cases, one module per case, named as ``--only`` takes it: ``pull``,
``throughput``, ``latency``, ``fanout``, ``peer``, ``scale``, ``memory``, ``agents``, ``sdk``,
``isolation``, ``auth``, ``otel``, ``receipts``, ``receipts_cost``, ``console``, ``replicas``,
``guards``. Each is a :class:`~bench.cases.base.Case`: a name, a group and ``run(transport,
args)`` returning typed :class:`~bench.cases.base.Figure` records, the baselines' figures
(:mod:`bench.baselines`) beside bus's own with the ratio between them.

Besides the cases: the interface (:mod:`~bench.cases.base`), a case made of named parts
(:mod:`~bench.cases.parts`) and which cases exist and run in what order
(:mod:`~bench.cases.registry`, kept apart so that importing one case does not import them all).
"""
