"""Exponential backoff with jitter (pure): how long a worker waits before asking again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

_MAX_EXPONENT = 64  # 2**64 x any sane initial is past every cap: no overflow, same answer


@dataclass
class Backoff:
    """Each `next()` doubles the ceiling from `initial` up to `cap`, and waits a random time
    between half the ceiling and the ceiling ("equal jitter"): never two workers in lockstep,
    never less than half the intended pause. `reset()` after a success."""

    initial: float = 0.5
    cap: float = 10.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    failures: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= cap and factor >= 1")

    def ceiling(self) -> float:
        return min(self.cap, self.initial * self.factor ** min(self.failures, _MAX_EXPONENT))

    def next(self) -> float:
        ceiling = self.ceiling()
        self.failures += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
