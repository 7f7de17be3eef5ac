"""Sync speed on embedded SQLite, against budgets on this 2-core machine kind. Run with ``make bench``.

The budgets are generous enough for a cheap school PC and tight enough to catch a regression of the
per-mutation cost (an extra query per row, a lost index).
"""

from __future__ import annotations

import uuid

from benchmarks.conftest import measure
from sync.client import Outbox
from tests.factory import registration

BATCH = 200
PUSH_BUDGET_SECONDS = 2.0  # one full push of 200 registrations, committed
PULL_BUDGET_SECONDS = 0.5  # one page of 200 appeals, decrypted


def test_push_200_registrations(factory):
    device = factory.device()
    outbox = Outbox()

    def push_batch() -> None:
        for _ in range(BATCH):
            outbox.add("appeal.registered", str(uuid.uuid4()), registration())
        outbox.flush(device)

    assert measure(push_batch, rounds=5) < PUSH_BUDGET_SECONDS
    assert len(outbox.acknowledged) == 5 * BATCH


def test_pull_page_of_200(factory):
    device = factory.device()
    factory.register(device, count=BATCH)
    assert measure(lambda: device.pull(0, BATCH), rounds=10) < PULL_BUDGET_SECONDS
    assert len(device.pull(0, BATCH)["changes"]) == BATCH
