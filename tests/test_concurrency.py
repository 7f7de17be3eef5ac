"""Several tablets of one school pushing at the same moment: serial numbers stay gapless, nothing fails."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from server.db import db
from server.models import Appeal
from server.services import verify
from sync.client import Outbox, SyncClient
from tests.factory import registration, test_client_transport

DEVICES = 4
BATCHES = 5
BATCH = 10


def test_concurrent_pushes_from_one_school(app, factory):
    school = factory.school()
    clients = [factory.device(school=school) for _ in range(DEVICES)]
    errors: list[BaseException] = []

    def work(device: SyncClient) -> None:
        # Each thread has its own test client: requests really run side by side in the app.
        device.transport = test_client_transport(app.test_client())
        outbox = Outbox()
        try:
            for _ in range(BATCHES):
                for _ in range(BATCH):
                    outbox.add("appeal.registered", str(uuid.uuid4()), registration())
                outbox.flush(device)
            assert len(outbox.acknowledged) == BATCHES * BATCH and not outbox.needs_attention
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        serials = db.session.scalars(select(Appeal.serial_no).where(Appeal.school_id == school.id)).all()
        assert sorted(serials) == list(range(1, DEVICES * BATCHES * BATCH + 1))
        assert db.session.scalar(select(func.count(Appeal.id))) == DEVICES * BATCHES * BATCH
        assert verify.first_break() is None
