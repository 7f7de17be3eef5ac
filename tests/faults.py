"""The machinery of the fault tests: a real gunicorn in its own process group, and a fault-injecting proxy.

``Gunicorn`` runs ``gunicorn -w 2 wsgi:app`` on a test instance exactly as a school's server runs it, so
that ``kill -9`` hits a real master and real workers in the middle of a real transaction (an in-process
server could only be stopped politely). It is the one way every test and benchmark starts a gunicorn
(through the ``gunicorn`` fixture of tests/conftest.py): run by the tests' own interpreter
(``python -m gunicorn``), so the server has the same packages wherever and however the tests are run, and
ready once it answers over HTTP. ``FaultProxy`` sits in front of it as a reverse proxy or a flaky
school network would: it sheds requests with 503 (HTML, as nginx does), forwards a request and then cuts
the connection before the answer (the server has committed; the tablet never hears), cuts a request
before it reaches the server, sends half an answer, answers 200 with a captive portal's page, or holds
the server's answer back until the test has killed the server. It answers 502 while the server is down.
"""

from __future__ import annotations

import collections
import enum
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (their reaped children included)."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_group(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


class Gunicorn:
    """``gunicorn -w WORKERS -b 127.0.0.1:PORT [OPTIONS] wsgi:app`` on ``instance``, in a process group of its
    own; ``env`` is added to the environment an operator would give it."""

    def __init__(
        self,
        instance: Path,
        log: Path,
        workers: int = 2,
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.instance = instance
        self.log = log
        self.workers = workers
        self.options = list(options)
        self.env = dict(env or {})
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.cpu_seconds = 0.0  # what every server process used, read just before each stop or kill

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None, "already running"
        # As an operator starts it: the instance names the SQLite file and the key; DATABASE_URL passes through.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISHENIM_")}
        env["ISHENIM_INSTANCE"] = str(self.instance)
        env.update(self.env)
        command = [
            sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
            "--timeout", "120", "--log-level", "warning", *self.options, "wsgi:app",
        ]  # fmt: skip
        # gunicorn's log and the app's (a traceback of a 500 would land here) go to one file, kept across restarts.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn and arguments)
                command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log
            )
        self.starts += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.log_text()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/api/v1/openapi.json")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT} s: {self.log_text()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> int:
        """``kill -9`` the master and every worker at once (the whole process group); returns how many died."""
        assert self.process is not None and self.running, "gunicorn died on its own"
        pgid = self.process.pid  # start_new_session: the master leads its own group
        members = _process_group(pgid)
        assert self.process.pid in members and len(members) >= 1 + self.workers, members
        self.cpu_seconds += _cpu_seconds(members)
        os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        deadline = time.monotonic() + 10
        while _process_group(pgid):
            assert time.monotonic() < deadline, "gunicorn's workers outlived kill -9"
            time.sleep(0.01)
        return len(members)

    def stop(self) -> None:
        """A graceful stop at the end of a test (SIGTERM to the master), then anything left is killed."""
        if self.process is None:
            return
        pgid = self.process.pid
        self.cpu_seconds += _cpu_seconds(_process_group(pgid))
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        if _process_group(pgid):
            os.killpg(pgid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class Fault(enum.Enum):
    PASS = "pass"
    UNAVAILABLE = "503"  # shed before the server sees it, as a proxy does under load or during a deploy
    DROP_REQUEST = "drop request"  # the connection breaks before the request reaches the server
    DROP_RESPONSE = "drop response"  # the server commits and answers; the answer never reaches the client
    TRUNCATE_RESPONSE = "truncate response"  # the server commits; half of its answer arrives
    PORTAL = "captive portal"  # the school's Wi-Fi answers 200 with its own login page; the server sees nothing
    HOLD_RESPONSE = "hold response"  # the server commits and answers; the answer waits for ``release``, then drops


def _html_answer(status: str, extra_headers: str = "") -> bytes:
    """An answer made by the proxy itself: HTML, as nginx sends it, never the server's JSON envelope."""
    body = f"<html><body><h1>{status}</h1></body></html>\n".encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\n{extra_headers}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


UNAVAILABLE = _html_answer("503 Service Unavailable", "Retry-After: 1\r\n")
BAD_GATEWAY = _html_answer("502 Bad Gateway")
PORTAL = _html_answer("200 OK")


def _read_request(conn: socket.socket) -> bytes | None:
    """One HTTP/1.1 request with a Content-Length body (what urllib sends), or None if the client hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _reset(conn: socket.socket) -> None:
    """Close with a TCP reset, as a dropped link or a crashed middlebox does, rather than a polite FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class FaultProxy:
    """A reverse proxy on loopback that applies the planned fault to each request it receives, in order.

    It counts the status of every answer the server really gave (``upstream``), delivered or not, so a
    test can prove the server never answered 5xx whatever the network did.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.upstream: collections.Counter[int] = collections.Counter()
        self.applied: collections.Counter[Fault] = collections.Counter()
        self._plan: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self.held = threading.Event()  # set when a held answer has arrived from the server
        self.release = threading.Event()  # set by the test to let the held connection drop
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, *faults: Fault) -> None:
        """Faults for the next requests, one each, in arrival order; requests beyond the plan pass."""
        with self._lock:
            self._plan.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._plan.clear()

    @property
    def planned(self) -> int:
        with self._lock:
            return len(self._plan)

    def _next_fault(self) -> Fault:
        with self._lock:
            fault = self._plan.popleft() if self._plan else Fault.PASS
            self.applied[fault] += 1
            return fault

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=120) as upstream:
            upstream.sendall(request)
            answer = b""
            while chunk := upstream.recv(65536):  # gunicorn's sync workers close after each answer
                answer += chunk
        if not answer.startswith(b"HTTP/1.") or b"\r\n\r\n" not in answer:
            raise ConnectionResetError("the server died before it answered")
        return answer

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(120)
            request = _read_request(conn)
            if request is None:
                conn.close()
                return
            fault = self._next_fault()
            if fault in (Fault.UNAVAILABLE, Fault.PORTAL):
                conn.sendall(UNAVAILABLE if fault is Fault.UNAVAILABLE else PORTAL)
                conn.close()
                return
            if fault is Fault.DROP_REQUEST:
                _reset(conn)
                return
            try:
                answer = self._forward(request)
            except OSError:
                conn.sendall(BAD_GATEWAY)
                conn.close()
                return
            with self._lock:
                self.upstream[int(answer.split(b" ", 2)[1])] += 1
            if fault is Fault.HOLD_RESPONSE:
                self.held.set()
                self.release.wait(timeout=120)
                _reset(conn)
            elif fault is Fault.DROP_RESPONSE:
                _reset(conn)
            elif fault is Fault.TRUNCATE_RESPONSE:
                # The status line and headers arrive, the body stops halfway: Content-Length promises more.
                head, _, body = answer.partition(b"\r\n\r\n")
                conn.sendall(head + b"\r\n\r\n" + body[: len(body) // 2])
                conn.close()
            else:
                conn.sendall(answer)
                conn.close()
        except OSError:  # the client gave up first: nothing to deliver to
            conn.close()

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(timeout=5)
