"""Master-key rotation: ``rotate-key`` re-wraps every data key under a new master key in batches, resumes
after an interruption (an exception after one batch, or ``kill -9``), lets the running app go on reading,
and ``--finish`` retires the old key: afterwards every letter still opens and ``verify`` passes, while
the old key alone opens nothing. The running app's reload period passes on its own note of when it last
read the key files, moved back by the test, never in a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from server import crypto
from server.db import db
from server.models import DataKey, School
from server.services import keys, rotation
from server.services.keys import StartupError
from tests.conftest import make_app
from tests.factory import Factory, registration
from tests.operator import FLASK, ROOT, run_flask
from tests.test_backup import reader
from tests.test_confidentiality import Letters, assert_contents, write_letters


@pytest.fixture
def restart(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    """Start the app again on the same instance, as after a server restart; engines closed afterwards."""
    started: list[Flask] = []

    def _start(**config: Any) -> Flask:
        app = make_app(instance, monkeypatch, **config)
        started.append(app)
        return app

    yield _start
    for app in started:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def key_rows(app: Flask) -> dict[uuid.UUID, tuple[str, bytes, str]]:
    """Every data key: owner -> (master key id, wrapped, school)."""
    with app.app_context():
        rows = db.session.execute(select(DataKey.owner, DataKey.key_id, DataKey.wrapped, School.uuid).join(School))
        return {owner: (key_id, bytes(wrapped), str(school)) for owner, key_id, wrapped, school in rows}


def unwrapped(rows: dict[uuid.UUID, tuple[str, bytes, str]], ring: crypto.Keyring) -> dict[uuid.UUID, bytes]:
    """Every data key opened with ``ring`` by the key id its row names (erased ones left out)."""
    return {
        owner: crypto.unwrap_data_key(ring.get(key_id), wrapped, school, str(owner))
        for owner, (key_id, wrapped, school) in rows.items()
        if key_id != keys.ERASED
    }


def reads_everything(app: Flask, made: Letters) -> None:
    pulled, _ = reader(app, made.device).pull_all()
    assert_contents([c for c in pulled if c["entity"] != "appeal" or c["id"] in made.current], made)
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output


def reload_period_passes(app: Flask) -> None:
    """As if ``keys.RELOAD_SECONDS`` had gone by since the app last looked at its key files: the app's note of
    that look is moved back, where the test would otherwise sleep through the period."""
    app.extensions[keys.EXTENSION].checked -= keys.RELOAD_SECONDS


def files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


@pytest.fixture
def made(app: Flask, factory: Factory) -> Letters:
    """Letters with case work and an opening (canaries everywhere), and ten more plain registrations."""
    school = factory.school()
    letters = write_letters(factory, school)
    factory.register(factory.device("pedagogue", school), count=10)
    return letters


def test_rotation_rewraps_every_key_and_finish_retires_the_old_one(
    app: Flask, made: Letters, instance: Path, restart: Callable[..., Flask]
) -> None:
    old = crypto.load_master_key(instance / "master.key")
    before = key_rows(app)
    secrets_before = unwrapped(before, crypto.Keyring(old))
    # Each letter's, the opening's, and the school's receipt index key (its letters carry codes).
    assert len(before) == 15 and {key_id for key_id, _, _ in before.values()} == {old.key_id}

    result = invoke(app, "rotate-key", "--batch-size", "3")
    assert result.exit_code == 0, result.output
    assert "15 data key(s) to re-wrap" in result.output and "re-wrapping: 15 data keys of 15" in result.output
    assert "rotate-key --finish" in result.output
    upcoming = instance / "master.key.next"
    new = crypto.load_master_key(upcoming)
    assert oct(upcoming.stat().st_mode & 0o777) == "0o600" and new.key_id != old.key_id

    after = key_rows(app)
    assert {key_id for key_id, _, _ in after.values()} == {new.key_id}
    assert all(after[owner][1] != before[owner][1] for owner in before)  # every wrapping is new...
    assert unwrapped(after, crypto.Keyring(new)) == secrets_before  # ...around the same data keys
    reads_everything(restart(), made)  # both key files present: the app starts and reads

    finished = invoke(app, "rotate-key", "--finish")
    assert finished.exit_code == 0, finished.output
    assert f"The old key {old.key_id} is no longer on this server" in finished.output
    assert not upcoming.exists() and crypto.load_master_key(instance / "master.key") == new
    assert files_holding(instance, old.to_text().strip().encode()) == []

    reads_everything(restart(), made)
    # The old key alone opens nothing: the server refuses it, and no wrapped key unwraps under it.
    with pytest.raises(StartupError, match="does not open the letters"):
        restart(ISHENIM_MASTER_KEY=old.to_text())
    for owner, (_, wrapped, school) in after.items():
        with pytest.raises(crypto.UnwrapFailed):
            crypto.unwrap_data_key(old, wrapped, school, str(owner))


def test_interrupted_rotation_resumes(
    app: Flask, made: Letters, instance: Path, restart: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the first batch keeps that batch; the app starts and reads with rows under both keys,
    refuses to start without either key, and the next run re-wraps the rest under the same new key."""
    old = crypto.load_master_key(instance / "master.key")
    secrets_before = unwrapped(key_rows(app), crypto.Keyring(old))
    real, calls = rotation.rewrap_batch, []

    def power_cut(new: crypto.MasterKey, limit: int = rotation.BATCH_ROWS) -> int:
        if calls:
            raise RuntimeError("power cut")
        calls.append(limit)
        return real(new, limit)

    monkeypatch.setattr(rotation, "rewrap_batch", power_cut)
    result = invoke(app, "rotate-key", "--batch-size", "4")
    assert isinstance(result.exception, RuntimeError) and result.exit_code != 0
    monkeypatch.setattr(rotation, "rewrap_batch", real)

    new = crypto.load_master_key(instance / "master.key.next")
    halfway = key_rows(app)
    ids = [key_id for key_id, _, _ in halfway.values()]
    assert (ids.count(new.key_id), ids.count(old.key_id)) == (4, 11)
    assert unwrapped(halfway, crypto.Keyring(new, old)) == secrets_before
    reads_everything(restart(), made)

    # Mid-rotation, the start-up check looks at every key id in use: neither key alone will do.
    for missing in ("master.key.next", "master.key"):
        aside = instance / f"{missing}.aside"
        (instance / missing).rename(aside)
        with pytest.raises(StartupError):
            restart()
        aside.rename(instance / missing)

    resumed = invoke(app, "rotate-key", "--batch-size", "4")
    assert resumed.exit_code == 0, resumed.output
    assert f"Rotating to master key {new.key_id}: 11 data key(s) to re-wrap" in resumed.output
    done = key_rows(app)
    assert {key_id for key_id, _, _ in done.values()} == {new.key_id}
    assert unwrapped(done, crypto.Keyring(new)) == secrets_before
    assert invoke(app, "rotate-key", "--finish").exit_code == 0
    reads_everything(restart(), made)


def test_rotation_killed_midway_resumes(
    app: Flask, factory: Factory, instance: Path, restart: Callable[..., Flask]
) -> None:
    """``kill -9`` in the middle of a run: every committed batch is whole (a multiple of the batch size carry
    the new key id), every row opens with the key it names, and running the command again completes."""
    school = factory.school()
    made = write_letters(factory, school)
    with app.app_context():
        row = db.session.get_one(School, school.id)
        for _ in range(1000):  # data keys as many records hold them, so that the run lasts long enough to kill
            keys.create_data_key(row, uuid.uuid4())
        db.session.commit()
    old = crypto.load_master_key(instance / "master.key")
    secrets_before = unwrapped(key_rows(app), crypto.Keyring(old))
    total = len(secrets_before)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ISHENIM_")}
    env["ISHENIM_INSTANCE"] = str(instance)
    command = [sys.executable, *FLASK, "rotate-key", "--batch-size", "10"]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as process:  # noqa: S603
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("re-wrapping:"):
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    new = crypto.load_master_key(instance / "master.key.next")
    halfway = key_rows(app)
    moved = sum(key_id == new.key_id for key_id, _, _ in halfway.values())
    assert 0 < moved < total and moved % 10 == 0
    assert unwrapped(halfway, crypto.Keyring(new, old)) == secrets_before
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    again = run_flask(instance, "rotate-key", "--batch-size", "500")
    assert again.returncode == 0, again.stderr
    assert f"{total - moved} data key(s) to re-wrap" in again.stdout
    assert unwrapped(key_rows(app), crypto.Keyring(new)) == secrets_before
    finished = run_flask(instance, "rotate-key", "--finish")
    assert finished.returncode == 0, finished.stderr
    reads_everything(restart(), made)


def test_the_running_app_follows_a_rotation(app: Flask, made: Letters, factory: Factory, instance: Path) -> None:
    """The server keeps serving while another process rotates: rows re-wrapped under its feet still open,
    its new letters are wrapped under the new key within a second, and after ``--finish`` it goes on with the
    new key alone. The second passes on the app's note of its last look at the key files, not in a sleep."""
    first = run_flask(instance, "rotate-key")
    assert first.returncode == 0, first.stderr
    new = crypto.load_master_key(instance / "master.key.next")
    reads_everything(app, made)  # the app had only the old key: an unknown key id made it reload

    reload_period_passes(app)
    with app.app_context():
        school = db.session.scalars(select(School)).one()
    device = factory.device("pedagogue", school)
    factory.register(device, count=2)
    assert {key_id for key_id, _, _ in key_rows(app).values()} == {new.key_id}

    retired = crypto.load_master_key(instance / "master.key")
    finished = run_flask(instance, "rotate-key", "--finish")
    assert finished.returncode == 0, finished.stderr
    reload_period_passes(app)
    factory.register(device, count=1)
    reads_everything(app, made)
    assert {key_id for key_id, _, _ in key_rows(app).values()} == {new.key_id}
    with pytest.raises(crypto.UnknownKeyId):  # the app looked at its files again and let the old key go
        app.extensions[keys.EXTENSION].ring.get(retired.key_id)


def test_finish_only_when_every_row_is_rewrapped(app: Flask, made: Letters, instance: Path) -> None:
    nothing = invoke(app, "rotate-key", "--finish")
    assert nothing.exit_code == 1 and "No rotation is in progress" in nothing.output
    assert not (instance / "master.key.next").exists()
    old = (instance / "master.key").read_bytes()
    with app.app_context():
        rotation.start()  # the new key is there, nothing re-wrapped yet
    early = invoke(app, "rotate-key", "--finish")
    assert early.exit_code == 1 and "15 data key(s) still use the old key" in early.output
    assert (instance / "master.key").read_bytes() == old and (instance / "master.key.next").exists()


def test_a_master_key_from_the_environment_is_not_rotated(
    made: Letters, instance: Path, restart: Callable[..., Flask]
) -> None:
    env_app = restart(ISHENIM_MASTER_KEY=(instance / "master.key").read_text())
    result = invoke(env_app, "rotate-key")
    assert result.exit_code == 1 and "ISHENIM_MASTER_KEY" in result.output
    assert not (instance / "master.key.next").exists()


def test_erased_data_keys_stay_erased(app: Flask, made: Letters, instance: Path, restart: Callable[..., Flask]) -> None:
    """A data key destroyed by the retention period has nothing to re-wrap: it stays as it is."""
    with app.app_context():
        row = db.session.scalars(select(DataKey).order_by(DataKey.id.desc())).first()
        assert row is not None
        erased = row.owner
        keys.destroy_data_key(row)
        db.session.commit()
    result = invoke(app, "rotate-key")
    assert result.exit_code == 0, result.output
    assert "14 data key(s) to re-wrap" in result.output
    assert key_rows(app)[erased][:2] == (keys.ERASED, b"")
    assert invoke(app, "rotate-key", "--finish").exit_code == 0
    restart()


def test_the_receipt_index_key_is_rotated_with_the_rest(
    app: Flask, factory: Factory, instance: Path, restart: Callable[..., Flask]
) -> None:
    """A school's receipt index key is a data key like any other: the rotation re-wraps it, and after
    ``--finish`` the codes of before are still found by their digests (the key inside is the same)."""
    from server.services import receipts
    from sync.client import Outbox

    school = factory.school()
    device = factory.device("pedagogue", school)
    outbox = Outbox()
    outbox.add("appeal.registered", str(uuid.uuid4()), {**registration(), "receipt_code": "K7M2QX"})
    outbox.flush(device)
    owner = uuid.uuid5(receipts.INDEX_NAMESPACE, str(school.uuid))
    old = crypto.load_master_key(instance / "master.key")
    assert key_rows(app)[owner][0] == old.key_id

    assert invoke(app, "rotate-key").exit_code == 0
    finished = invoke(app, "rotate-key", "--finish")
    assert finished.exit_code == 0, finished.output
    assert key_rows(app)[owner][0] == crypto.load_master_key(instance / "master.key").key_id != old.key_id

    again = restart()
    answer = again.test_client().post(
        "/api/v1/receipt-codes/check",
        json={"receipt_code": "K7M2QX"},
        headers={"Authorization": f"Bearer {device.token}"},
    )
    assert answer.status_code == 200 and answer.get_json()["held_by"]["serial_no"] == 1
    second = Outbox(next_seq=2)
    second.add("appeal.registered", str(uuid.uuid4()), {**registration(), "receipt_code": "K7M2QX"})
    second.flush(device)
    assert [result["error"] for _m, result in second.needs_attention] == ["receipt_code_used"]
