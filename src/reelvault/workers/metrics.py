"""Lifecycle metrics (on the default registry, so `/metrics` serves them)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Each change of state counts once where it happens: a gauge per state would need a COUNT of
# the whole table at every scrape; `rate()` of these tells the same story.
GENERATION_STATES = Counter(
    "reelvault_generation_transitions_total",
    "Generations entering a state (requested, claimed, completed, failed, requeued)",
    ["status"],
)
CLAIMS = Counter("reelvault_claims_total", "Worker claims by outcome", ["outcome"])
LEASE_EXPIRIES = Counter(
    "reelvault_lease_expiries_total",
    "Leases that ran out, by what became of the generation",
    ["outcome"],
)
ATTEMPTS = Histogram(
    "reelvault_generation_attempts",
    "Which attempt a claim is (1 for the first)",
    buckets=(1, 2, 3, 4, 5, 10),
)
TIME_TO_COMPLETE = Histogram(
    "reelvault_generation_completion_seconds",
    "Time from a generation's request to its completion",
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
