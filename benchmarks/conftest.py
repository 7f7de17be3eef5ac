"""Benchmarks reuse the test fixtures (a fresh migrated database each) and time with ``measure``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import app, client, factory, instance, migrated, postgres_for_run  # noqa: F401 (fixtures)


def measure(action: Callable[[], Any], rounds: int) -> float:
    """The median wall time of ``rounds`` runs of ``action``, printed for the record."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"\n  median {median * 1000:.1f} ms over {rounds} rounds (min {min(times) * 1000:.1f} ms)")
    return median
