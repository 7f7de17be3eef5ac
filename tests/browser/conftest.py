"""Browser fixtures: Debian's Chromium driven by Playwright against a live server on loopback.

"Offline" here is real: the server is stopped, so every request from the page and its service worker
fails as on a tablet whose school lost its internet; ``online()`` starts it again on the same port.

Every browser context is on the school's time zone (``tests.clock.SCHOOL_ZONE``), whatever the host's, as a
tablet at the school is; the host's zone reaches the server and Chromium's process only, which is what
``make test-other-zone`` varies.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from tests.clock import SCHOOL_ZONE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these Chromium keeps dialling Google's services, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TABLET_PORTRAIT = {"width": 800, "height": 1280}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class LiveServer:
    """The test app served on a fixed loopback port, which can be stopped and started again."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def online(self) -> None:
        assert self._server is None, "already online"
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def offline(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.online()
    yield server
    server.offline()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


def tablet_profile(playwright: Playwright, base_url: str, profile: Path) -> BrowserContext:
    """A tablet's browser on a profile folder on disk (its own IndexedDB, caches, service worker), on the
    school's time zone; opening the same folder again is the tablet started again."""
    return playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        viewport=TABLET_PORTRAIT,
        locale="ky-KG",
        timezone_id=SCHOOL_ZONE.key,
        base_url=base_url,
        service_workers="allow",
    )


def watched_page(context: BrowserContext) -> Page:
    """The profile's page, with the errors it throws kept in ``page.errors``."""
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]  # read by tests that assert a clean console
    return page


@pytest.fixture
def context(playwright: Playwright, live_server: LiveServer, tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh browser profile on disk, as on a tablet."""
    ctx = tablet_profile(playwright, live_server.url, tmp_path / "profile")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return watched_page(context)
