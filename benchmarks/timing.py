"""Timing helpers: run a callable repeatedly and summarize the durations.

Pure Python, no Odoo import, so the statistics can be unit tested alone.
"""

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass


def percentile(values, pct):
    """Return the ``pct`` percentile (0-100) of ``values``, linearly interpolated.

    Uses the same definition as ``numpy.percentile``'s default ("linear"):
    the value at rank ``pct / 100 * (n - 1)`` of the sorted sample.
    """
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0 and 100, got {pct}")
    ordered = sorted(values)
    rank = pct / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    weight = rank - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


@dataclass(frozen=True)
class Stats:
    """Summary of a sample of durations (seconds) or any other measure."""

    count: int
    mean: float
    p50: float
    p95: float
    min: float
    max: float
    total: float

    def as_dict(self):
        return asdict(self)


def summarize(values):
    """Return the :class:`Stats` of a non-empty sample."""
    values = list(values)
    if not values:
        raise ValueError("cannot summarize an empty sample")
    total = math.fsum(values)
    return Stats(
        count=len(values),
        mean=total / len(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        min=float(min(values)),
        max=float(max(values)),
        total=total,
    )


def measure(func, repeat=5, warmup=1, setup=None):
    """Call ``func`` ``warmup`` times untimed, then ``repeat`` times timed.

    ``setup``, when given, is called before every call (timed or not) and is
    not included in the timing. Returns the :class:`Stats` of the timed calls.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _i in range(warmup):
        if setup:
            setup()
        func()
    samples = []
    for _i in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return summarize(samples)


class StageTimer:
    """Accumulate wall-clock time per named stage, in insertion order.

    ``with timer.stage("confirm"): ...`` adds the block's duration to
    ``timer.seconds["confirm"]``; nested stages each count their own time.
    """

    def __init__(self):
        self.seconds = {}

    @contextmanager
    def stage(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name, seconds):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @property
    def total(self):
        return math.fsum(self.seconds.values())

    def merge(self, other):
        for name, seconds in other.seconds.items():
            self.add(name, seconds)
        return self
