"""How long the fake LLM waits before it answers: fixed, or lognormal (heavy-tailed) and seeded."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    """How long the server waits before answering.

    Args:
        median: Seconds; the fixed latency when ``sigma`` is 0.
        sigma: Spread of the lognormal distribution (0: fixed latency). 1.0 gives a p99 of
            about 10 times the median.
        cap: Seconds no latency exceeds (the tail of a lognormal is unbounded).
    """

    median: float = 0.2
    sigma: float = 0.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if not (self.median >= 0 and self.sigma >= 0 and self.cap >= self.median):
            raise ValueError(f"invalid latency {self!r}: need 0 <= median <= cap, sigma >= 0")

    def sample(self, rng: random.Random) -> float:
        """One latency, in seconds."""
        if self.sigma == 0 or self.median == 0:
            return self.median
        return min(self.cap, rng.lognormvariate(math.log(self.median), self.sigma))

    def for_key(self, seed: int, key: str) -> float:
        """The latency of the request with ``key`` (``?key=...``) on a server seeded ``seed``:
        a function of the two, so every run, and a benchmark's own arithmetic, agree on it."""
        return self.sample(random.Random(f"{seed}/{key}"))

    def mean(self, samples: int = 100_000, seed: int = 0) -> float:
        """The mean latency (estimated from ``samples`` draws when it is random)."""
        if self.sigma == 0 or self.median == 0:
            return self.median
        rng = random.Random(seed)
        return sum(self.sample(rng) for _ in range(samples)) / samples
