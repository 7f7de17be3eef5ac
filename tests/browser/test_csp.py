"""The app under its Content Security Policy: every screen of every role draws without a single violation
(an inline style or script, a foreign origin), which the browser reports on the console. A screen is
looked at once its requests are answered and a frame is drawn after them, so late renders are seen too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request

from tests.browser.tablet import Tablet
from tests.factory import Factory

SCREENS = {
    "pedagogue": [
        "#/journal",
        "#/new",
        "#/openings",
        "#/openings/new",
        "#/meetings",
        "#/meetings/new",
        "#/report",
        "#/print/slips",
        "#/print/journal",
        "#/attention",
        "#/settings",
        "#/journal?q=x&status=registered",
    ],
    "commission": ["#/journal", "#/dashboard", "#/meetings/new", "#/report"],
    "director": ["#/journal", "#/dashboard", "#/report", "#/audit", "#/openings"],
    "admin": ["#/admin", "#/admin/devices", "#/admin/settings", "#/audit", "#/dashboard"],
}


@pytest.mark.parametrize("role", SCREENS)
def test_no_screen_breaks_the_policy(page: Page, factory: Factory, role: str) -> None:
    school = factory.school()
    factory.register(factory.device("pedagogue", school), count=2)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    in_flight: set[Request] = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    Tablet(page).enrol(factory.user(school, role))
    for screen in SCREENS[role]:
        page.goto(f"/{screen}")
        page.locator("main section").first.wait_for()
        # Late renders (a fetch, then a chart): every request answered, then a frame drawn after the last.
        for _ in range(200):
            if not in_flight:
                break
            page.wait_for_timeout(50)  # a poll of the requests above
        else:
            raise AssertionError(f"{screen}: requests still open: {[r.url for r in in_flight]}")
        page.evaluate("new Promise((drawn) => requestAnimationFrame(() => setTimeout(drawn)))")
    assert violations == []
    assert page.errors == []  # type: ignore[attr-defined]
