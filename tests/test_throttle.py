"""Login throttling: failed passwords per account, logins per address, counted by every worker together.

The window passes on the storage's clock, which the tests move instead of sleeping through a minute. The
several-worker test runs the suite's one gunicorn (the ``gunicorn`` fixture) with single-request workers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server import limiter_storage, throttle
from server.db import db
from server.models import User, utcnow
from tests.conftest import make_app
from tests.factory import PASSWORD, Factory
from tests.faults import Gunicorn

TOKEN = "/api/v1/auth/token"
WRONG = "not the password"


class Clock:
    """A clock for the limiter's storage that moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: Flask) -> Clock:
    """The production figures (conftest raises the per-address one for its fixtures) on a stopped clock."""
    app.config.update(LOGIN_ACCOUNT_LIMIT="5 per minute", LOGIN_ADDRESS_LIMIT="30 per minute")
    storage = app.extensions[throttle.EXTENSION].limiter.storage
    assert isinstance(storage, limiter_storage.SQLiteStorage)  # the default: shared by every worker
    storage.clock = Clock()
    return storage.clock


def login(client: FlaskClient, username: str, password: str = PASSWORD, address: str = "192.0.2.10", **headers: str):
    return client.post(
        TOKEN,
        json={"username": username, "password": password, "device_name": "tablet"},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def statuses(client: FlaskClient, username: str, password: str, times: int, clock: Clock | None = None) -> list[int]:
    result = []
    for _ in range(times):
        result.append(login(client, username, password).status_code)
        if clock:
            clock.advance(1)
    return result


def assert_too_many(response: Any, retry_after: int | None = None) -> None:
    assert response.status_code == 429
    assert response.get_json() == {
        "error": "too_many_attempts",
        "message": "Too many attempts; wait for the time in Retry-After and try again.",
        "fields": {},
    }
    assert response.headers["Cache-Control"] == "no-store"  # an API answer like any other (server/headers.py)
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    if retry_after is not None:
        assert seconds == retry_after


def test_the_sixth_failure_in_a_minute_is_429_with_retry_after(client, factory, clock):
    username = factory.user(factory.school())
    assert statuses(client, username, WRONG, 5, clock) == [401] * 5  # at 0, 1, 2, 3 and 4 seconds
    clock.advance(5)  # 10 seconds after the first failure
    refused = login(client, username, PASSWORD)  # even the right password: it is not checked at all
    assert_too_many(refused, retry_after=50)  # the first failure leaves the window at 60 seconds
    assert_too_many(login(client, username, WRONG), retry_after=50)


def test_the_window_passes(client, factory, clock):
    username = factory.user(factory.school())
    assert statuses(client, username, WRONG, 5) == [401] * 5
    assert login(client, username).status_code == 429
    clock.advance(59)
    assert login(client, username).status_code == 429
    clock.advance(2)
    assert login(client, username).status_code == 201


def test_successes_do_not_count(client, factory, clock):
    username = factory.user(factory.school())
    assert statuses(client, username, PASSWORD, 12) == [201] * 12
    assert statuses(client, username, WRONG, 4) == [401] * 4
    assert statuses(client, username, PASSWORD, 3) == [201] * 3
    assert statuses(client, username, WRONG, 2) == [401, 429]


def test_only_wrong_passwords_count_not_a_disabled_account(app, client, factory, clock):
    """The right password for a disabled account is no guess: it is refused as disabled every time."""
    username = factory.user(factory.school())
    with app.app_context():
        db.session.scalar(select(User).where(User.username == username)).disabled_at = utcnow()
        db.session.commit()
    responses = [login(client, username) for _ in range(8)]
    assert {(r.status_code, r.get_json()["error"]) for r in responses} == {(401, "account_disabled")}


def test_another_account_is_not_affected(client, factory, clock):
    school = factory.school()
    victim, colleague = factory.user(school), factory.user(school)
    assert statuses(client, victim, WRONG, 6) == [401] * 5 + [429]
    assert login(client, colleague).status_code == 201
    assert statuses(client, colleague, WRONG, 5) == [401] * 5


def test_threads_guessing_at_once_each_count_for_their_own_account(app, factory, clock):
    """Four threads of one process guess on four accounts at the same time: each account is refused at
    its own 6th failure, never earlier, never later (no thread's failure lands on another's account)."""
    school = factory.school()
    accounts = [factory.user(school) for _ in range(4)]
    start = threading.Barrier(len(accounts))

    def guess(username: str) -> list[int]:
        own = app.test_client()
        start.wait()
        return statuses(own, username, WRONG, 6)

    with ThreadPoolExecutor(len(accounts)) as pool:
        results = list(pool.map(guess, accounts))
    assert results == [[401] * 5 + [429]] * len(accounts)


def test_the_429_does_not_tell_whether_the_account_exists(client, factory, clock):
    real = factory.user(factory.school())
    for username in (real, "nobody-by-this-name"):
        assert statuses(client, username, WRONG, 5) == [401] * 5
    answers = [login(client, username) for username in (real, "nobody-by-this-name")]
    for answer in answers:
        assert_too_many(answer, retry_after=60)
    assert answers[0].get_data() == answers[1].get_data()
    assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"]


def test_varying_case_or_spaces_buys_no_extra_tries(client, factory, clock):
    username = factory.user(factory.school())
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in username)
    variants = [username.upper(), f" {username}", f"{username}\t", username.title(), fullwidth]
    assert [login(client, variant, WRONG).status_code for variant in variants] == [401] * 5
    assert_too_many(login(client, username))
    assert_too_many(login(client, username.upper()))


def test_the_limit_is_a_setting(app, client, factory, clock):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "2 per minute"
    username = factory.user(factory.school())
    assert statuses(client, username, WRONG, 3) == [401, 401, 429]


def test_per_address_limit_counts_every_login(client, factory, clock):
    school = factory.school()
    users = [factory.user(school) for _ in range(3)]
    answers = [login(client, users[n % 3], WRONG if n < 6 else PASSWORD).status_code for n in range(30)]
    assert answers == [401] * 6 + [201] * 24  # 30 logins, failed or not, on three accounts
    assert_too_many(login(client, users[0]))  # the 31st from this address
    assert login(client, users[0], address="192.0.2.11").status_code == 201  # another address
    clock.advance(61)
    assert login(client, users[0]).status_code == 201


def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app, client, factory, clock):
    app.config["LOGIN_ADDRESS_LIMIT"] = "3 per minute"
    username = factory.user(factory.school())
    forged = [login(client, username, **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(4)]
    assert forged == [201, 201, 201, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    instance: Path, monkeypatch: pytest.MonkeyPatch, factory: Factory
):
    proxied = make_app(instance, monkeypatch, TRUSTED_PROXIES=1, LOGIN_ADDRESS_LIMIT="3 per minute")
    client = proxied.test_client()
    username = Factory(proxied, client).user(factory.school())

    def through_proxy(address: str) -> int:
        return login(client, username, address="127.0.0.1", **{"X-Forwarded-For": address}).status_code

    assert [through_proxy("198.51.100.1") for _ in range(4)] == [201, 201, 201, 429]
    assert through_proxy("198.51.100.2") == 201  # another client behind the same proxy
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_wrong_current_password_counts_against_the_account(app, client, factory, clock):
    username = factory.user(factory.school())
    token = login(client, username).get_json()["token"]
    assert statuses(client, username, WRONG, 3) == [401] * 3

    def change(current: str) -> Any:
        return client.post(
            "/api/v1/me/password",
            json={"current_password": current, "new_password": "a brand new password"},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert [change(WRONG).status_code for _ in range(2)] == [403, 403]
    assert_too_many(change(PASSWORD))  # the account is spent for changing the password…
    assert_too_many(login(client, username))  # …and for logging in
    clock.advance(61)
    assert change(PASSWORD).status_code == 204


def test_the_openapi_document_names_the_429_and_its_header(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/auth/token", "/api/v1/me/password"):
        answer = spec["paths"][path]["post"]["responses"]["429"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_the_storage_keeps_no_username_and_is_owner_only(app, client, factory, clock, instance):
    username = factory.user(factory.school())
    statuses(client, username, WRONG, 3)
    files = [instance / name for name in os.listdir(instance) if name.startswith("ratelimit.sqlite3")]
    assert files and oct((instance / "ratelimit.sqlite3").stat().st_mode & 0o777) == "0o600"
    stored = b"".join(path.read_bytes() for path in files)
    assert username.encode() not in stored and b"192.0.2.10" not in stored


def test_the_storage_counts_fixed_windows_too(tmp_path):
    """The fixed-window half (for ISHENIM_RATELIMIT_STRATEGY=fixed-window), two handles on one file as two
    processes would hold them."""
    uri = limiter_storage.uri_for(str(tmp_path / "limits.sqlite3"))
    one, two = limiter_storage.SQLiteStorage(uri), limiter_storage.SQLiteStorage(uri)
    now = Clock()
    one.clock = two.clock = now
    assert [one.incr("k", 60), two.incr("k", 60), one.incr("k", 60, amount=3)] == [1, 2, 5]
    assert (two.get("k"), two.get_expiry("k")) == (5, now.now + 60)
    now.advance(60)
    assert (one.get("k"), one.incr("k", 60)) == (0, 1)
    two.clear("k")
    assert one.get("k") == 0 and one.check()
    assert one.acquire_entry("m", 2, 60) and two.acquire_entry("m", 2, 60) and not one.acquire_entry("m", 2, 60)
    assert one.reset() == 2 and two.get_moving_window("m", 2, 60) == (now.now, 0)
    with pytest.raises(ValueError, match="absolute path"):
        limiter_storage.SQLiteStorage("ishenim+sqlite://relative.sqlite3")


def test_a_forked_process_opens_its_own_connection_and_counts_in_the_same_file(tmp_path):
    storage = limiter_storage.SQLiteStorage(limiter_storage.uri_for(str(tmp_path / "limits.sqlite3")))
    assert storage.acquire_entry("k", 10, 60)
    parents = storage._connection()

    def in_the_child() -> None:
        if storage._connection() is parents or not storage.acquire_entry("k", 10, 60):
            raise SystemExit(1)

    child = multiprocessing.get_context("fork").Process(target=in_the_child)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert storage.get_moving_window("k", 10, 60)[1] == 2
    assert storage._connection() is parents


# -- several worker processes -----------------------------------------------------------------------


@pytest.fixture
def single_request_workers(
    instance: Path, tmp_path: Path, gunicorn: Callable[..., Gunicorn]
) -> Callable[..., tuple[str, Path]]:
    """Start ``gunicorn -w 2`` on the test instance; each worker serves ONE request and is replaced, so
    no two requests share a process and nothing counted in a process's memory could survive. Returns its
    address and its access log (the worker's pid, the status and the path of each request)."""

    def start(**env: str) -> tuple[str, Path]:
        access = tmp_path / "access.log"
        server = gunicorn(
            instance,
            ["--max-requests", "1", "--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s"],
            env=env,
        )
        server.start()
        return server.url, access

    return start


def _post(url: str, username: str, password: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(  # noqa: S310 (our loopback server)
        f"{url}{TOKEN}",
        data=f'{{"username": "{username}", "password": "{password}", "device_name": "tablet"}}'.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (our loopback server)
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def _login_pids(access: Path, expected: int) -> list[str]:
    """The pids of the workers that answered a login, polled until ``expected`` were logged (or 10 s passed)."""
    deadline = time.monotonic() + 10
    while True:
        pids = [pid for pid, _, path in (line.split() for line in access.read_text().splitlines()) if path == TOKEN]
        if len(pids) >= expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)  # a poll: the worker writes its access line after it has answered


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("", [401] * 5 + [429]),  # the default: the SQLite file every worker shares
        ("memory://", [401] * 6),  # the control: per-process memory forgets, which is why it is not used
    ],
    ids=["shared-file", "memory-control"],
)
def test_six_failures_over_several_worker_processes(factory, single_request_workers, storage, expected):
    username = factory.user(factory.school())
    env = {"ISHENIM_RATELIMIT_STORAGE_URI": storage} if storage else {}
    url, access = single_request_workers(**env)
    answers = [_post(url, username, WRONG) for _ in range(6)]
    assert [status for status, _ in answers] == expected
    pids = _login_pids(access, 6)
    assert len(pids) == 6 and len(set(pids)) == 6, pids  # six requests, six worker processes
    if expected[-1] == 429:
        assert 1 <= int(answers[-1][1]["Retry-After"]) <= 60


def _open_storage(path: str, start: Any, failures: Any) -> None:
    start.wait()  # every process at once, as gunicorn's workers boot on a new instance
    try:
        limiter_storage.SQLiteStorage(f"{limiter_storage.SCHEME}://{path}")
    except Exception as error:  # reported to the test, which names it
        failures.put(repr(error))


def test_workers_booting_at_once_all_open_a_new_storage_file(tmp_path: Path) -> None:
    """The first boot of several workers races to make the file WAL and its tables: every one must succeed.

    A worker that failed here made gunicorn stop the whole server ("Worker failed to boot"); seen when a
    benchmark started a server on a fresh instance."""
    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        path = str(tmp_path / f"ratelimit{attempt}.sqlite3")
        start, failures = context.Event(), context.Queue()
        processes = [context.Process(target=_open_storage, args=(path, start, failures)) for _ in range(8)]
        for process in processes:
            process.start()
        start.set()
        for process in processes:
            process.join(30)
        found = []
        while not failures.empty():
            found.append(failures.get())
        assert found == [], found
        assert all(process.exitcode == 0 for process in processes)
