"""The app under its Content Security Policy: every screen of every role draws without a single violation
(an inline style or script, a foreign origin), which the browser reports on the console."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

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
    Tablet(page).enrol(factory.user(school, role))
    for screen in SCREENS[role]:
        page.goto(f"/{screen}")
        page.locator("main section").first.wait_for()
        page.wait_for_timeout(200)  # let late renders (a fetch, a chart) finish
    assert violations == []
    assert page.errors == []  # type: ignore[attr-defined]
