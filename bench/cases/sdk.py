"""Case ``sdk``: the LLM-shaped workload through the real OpenAI SDK (issue 22, item 5).

The agents of case ``agents`` (one worker with default options hosting N agents on ``#llm``,
M messages published at once), but each handler awaits ``AsyncOpenAI.chat.completions.create``
against the fake LLM, on one client per worker process:

- ``openai``: the SDK's default transport (an ``httpx.AsyncClient`` it makes itself);
- ``openai-aiohttp``: the SDK's aiohttp transport (``DefaultAioHttpClient``, ``openai[aiohttp]``).

Beside each, the asyncio peer (:mod:`bench.baselines.asyncio_peer`) with the same SDK client in
one plain process, in the same run, so what the SDK's transport costs and what bus costs are
told apart. Figures ``sdk_<N>x<L>s_<mode>_of_limit`` (target 0.8) and ``..._peer_of_limit``;
variants N=20, L=0.2 s and N=200, L=1 s (fixed latency).
"""

from __future__ import annotations

import sys

from bench.cases.agents import SEED, AgentsCase, Variant, _rows
from bench.cases.base import CaseArgs, Figure
from bench.harness.llm_worker import fake_llm
from bench.harness.llm_workload import SDK_MODES

VARIANTS = (Variant(20, 0.2, False), Variant(200, 1.0, False))


class SdkCase(AgentsCase):
    """N agents calling the fake LLM through the OpenAI SDK, on httpx and on aiohttp."""

    name = "sdk"
    group = "runtime"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Every variant and SDK transport on ``transport``, each beside its peer."""
        figures: list[Figure] = []
        for variant in VARIANTS:
            for mode in SDK_MODES:
                label = f"sdk_{variant.agents}x{variant.latency:g}s_{mode.replace('-', '_')}"
                print(f"[bench] {transport}: {label} ...", file=sys.stderr, flush=True)
                try:
                    figures += self._sdk_variant(transport, args, variant, mode, label)
                except Exception as exc:
                    figures.append(
                        Figure(f"{label}_runs_per_s", None, "runs/s", transport, error=repr(exc))
                    )
        return figures

    def _sdk_variant(
        self, transport: str, args: CaseArgs, variant: Variant, mode: str, label: str
    ) -> list[Figure]:
        size = variant.sizes(args)
        m, budget, limit, expected = size.m, size.budget, size.limit, size.expected
        namespace = args.run.ns(f"s{variant.agents}{mode[-1]}")
        with fake_llm(variant.distribution, SEED) as url:
            hosted, rss, _ = self._hosted(
                transport, namespace, size.agents, url, m, budget, BENCH_LLM_CLIENT=mode
            )
            peer, peer_rss = self._peer(variant, m, url, budget, mode)
        common = {"agents": variant.agents, "latency": variant.latency, "messages": m}
        return [
            *_rows(label, transport, hosted, limit, expected, rss, client=mode, **common)[:3],
            *_rows(
                f"{label}_peer",
                transport,
                peer,
                limit,
                expected,
                peer_rss,
                worker="asyncio peer: one process, a queue and a task per agent",
                client=mode,
                **common,
            )[:2],
        ]
