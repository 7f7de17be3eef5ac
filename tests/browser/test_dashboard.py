"""The director's dashboard and the monthly information in Debian's Chromium, over the March 2025 of
tests/test_figures.py with canaries planted in every letter: the figures show, the chart has its twelve
months, nothing on either screen can change the journal, and the printed report (Kyrgyz and Russian) holds
counts only — small ones as "fewer than 3" — and not a word of any letter."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

import tests.test_figures as figures_fixture
from server.db import db
from server.models import Report, School
from tests.browser.conftest import LiveServer
from tests.browser.tablet import Tablet, leaks
from tests.clock import school_today
from tests.factory import Factory

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
LOCALES = Path(__file__).resolve().parents[2] / "pwa" / "locales"

CANARY_NAME = "Канарейка Жашыруунбекова"
CANARY_SUMMARY = "Канарейка-кыскача-мазмун Q7Z"
CANARY_TEXT = "Канарейка-толук-текст W9X"
CANARY_ADDRESS = "Канарейка-көчөсү 13"
CANARIES = [CANARY_NAME, CANARY_SUMMARY, CANARY_TEXT, CANARY_ADDRESS, "Канарейка"]


def catalog(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def with_canaries(make: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A registration maker whose letters carry the canaries in every confidential field they have."""

    def planted(**overrides: Any) -> dict[str, Any]:
        data = make(**overrides)
        data["summary"], data["text"] = CANARY_SUMMARY, CANARY_TEXT
        if not data["applicant"]["anonymous"]:
            data["applicant"] = {**data["applicant"], "full_name": CANARY_NAME, "address": CANARY_ADDRESS}
        return data

    return planted


@pytest.fixture
def school(app: Flask, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> School:
    """March 2025 as tests/test_figures.py counts it by hand, and three letters received today (for this
    month's figures and the chart's last bar); every letter with the canaries."""
    monkeypatch.setattr(figures_fixture, "registration", with_canaries(figures_fixture.registration))
    monkeypatch.setattr(
        figures_fixture, "anonymous_registration", with_canaries(figures_fixture.anonymous_registration)
    )
    school = factory.school("Мектеп № 12")
    figures_fixture.march(factory, school)
    factory.register(
        factory.device("pedagogue", school),
        count=3,
        received_on=school_today().isoformat(),
        summary=CANARY_SUMMARY,
        text=CANARY_TEXT,
        applicant={**figures_fixture.registration()["applicant"], "full_name": CANARY_NAME},
    )
    return school


def test_the_directors_dashboard_shows_figures_and_offers_no_write(
    app: Flask, live_server: LiveServer, page: Page, factory: Factory, school: School, tmp_path: Path
) -> None:
    words = catalog("ky")
    tablet = Tablet(page)
    tablet.enrol(factory.user(school, "director"))
    nav = page.locator("nav.app-nav")
    expect(nav.locator("a[href='#/report']")).to_have_count(1)
    nav.locator("a[href='#/dashboard']").click()

    chart = page.locator("svg.trend-chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_attribute("aria-label", re.compile(re.escape(words["dashboard.trend_label"][:20])))
    bars = chart.locator(".trend-bar")
    expect(bars).to_have_count(12)
    today = school_today()
    this_month = f"{words[f'report.month_{today.month}']} {today.year}"
    expect(bars.last.locator("title")).to_have_text(
        words["dashboard.trend_bar"].format(month=this_month, received=3, answered=0)
    )
    expect(bars.last).to_have_attribute("data-month", today.strftime("%Y-%m"))
    # The same numbers for a screen reader, in a visually hidden table.
    expect(page.locator("table.trend-table tbody tr")).to_have_count(12)
    expect(page.locator("table.trend-table tbody tr").last).to_contain_text(this_month)

    expect(page.locator(".dash-month .dash-big-number")).to_have_text("3")
    expect(page.locator(".dash-year .dash-big-number")).to_have_text("3")
    # Overdue now: the February letter (№ 1) and L3 (№ 4) of 2024–2025, by their numbers alone.
    expect(page.locator(".dash-overdue-count")).to_contain_text("2")
    expect(page.locator(".overdue-list li")).to_have_text(["№ 1 (2024–2025)", "№ 4 (2024–2025)"])
    # The last opening was in March 2025: no collection for a week, and no act for a month.
    expect(page.locator("main .cadence-alert")).to_have_count(2)
    expect(page.locator("main .cadence-alert").first).to_contain_text("7")
    expect(page.locator(".acts-awaiting-list a[href^='#/opening/']")).to_have_count(1)

    # Read-only: no form, no field, no submit button, no way to register a letter.
    expect(page.locator("form")).to_have_count(0)
    expect(page.locator("main input, main select, main textarea")).to_have_count(0)
    expect(page.locator("button[type=submit]")).to_have_count(0)
    expect(page.locator("a[href='#/new']")).to_have_count(0)
    assert leaks(page.content(), CANARIES) == []
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # Offline the dashboard says it needs the network, and comes back when asked again online.
    live_server.offline()
    nav.locator("a[href='#/journal']").click()
    tablet.wait_for_journal()
    nav.locator("a[href='#/dashboard']").click()
    expect(page.locator(".needs-network")).to_contain_text(words["dashboard.needs_network"])
    expect(page.locator("svg.trend-chart")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "dashboard-offline.png"))
    live_server.online()
    page.locator(".needs-network button").click()
    expect(page.locator("svg.trend-chart .trend-bar")).to_have_count(12)
    assert page.errors == []  # type: ignore[attr-defined]


def printed(page: Page, lang: str, tmp_path: Path) -> list[str]:
    """Switch the report to ``lang``, print it to A4 as Chromium does, and return each page's text (whitespace
    collapsed)."""
    page.locator(f".print-toolbar button[lang={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("body > .print-area .print-doc")).to_have_attribute("lang", lang)
    pdf = tmp_path / f"report-{lang}.pdf"
    page.pdf(path=pdf, format="A4", prefer_css_page_size=True)
    # -layout keeps each table row on its line, so a label stands next to its count (the tables sit in two
    # columns, which the reading order would interleave).
    text = subprocess.run(  # noqa: S603 (a fixed program on our own file)
        [PDFTOTEXT, "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [" ".join(part.split()) for part in text.split("\f")[:-1]]


def test_the_monthly_report_prints_counts_and_nothing_of_a_letter(
    app: Flask, live_server: LiveServer, page: Page, factory: Factory, school: School, tmp_path: Path
) -> None:
    # The pedagogue's tablet holds every letter's contents: the report must still carry none of them.
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    nav = page.locator("nav.app-nav")
    expect(nav.locator("a[href='#/dashboard']")).to_have_count(0)
    nav.locator("a[href='#/report']").click()

    today = school_today()
    first = today.replace(day=1)
    expected = (first - dt.timedelta(days=1)).strftime("%Y-%m") if today.day <= 5 else today.strftime("%Y-%m")
    month = page.locator("select[name=month]")
    expect(month).to_have_value(expected)
    month.select_option("2025-03")
    expect(page).to_have_url(re.compile(r"#/report/2025-03$"))
    expect(page.locator("body > .print-area .print-doc h1")).to_contain_text("2025")

    for lang in ("ky", "ru"):
        words = catalog(lang)
        pages = printed(page, lang, tmp_path)
        text = " ".join(pages)
        assert len(pages) == 1, f"{lang}: {len(pages)} pages"
        title = words["print.report_title"].format(year=2025, month=words["report.month_3"])
        fewer = words["print.report_fewer_than_3"]
        for expected_text in [
            title,
            "Мектеп № 12",
            "01.03.2025 – 31.03.2025",
            f"{words['print.report_received']}: 5",
            f"{words['print.report_anonymous']}: {fewer}",
            f"{words['category.bullying']} 3",
            f"{words['category.violence_or_cruelty']} {fewer}",
            f"{words['role.teacher']} {fewer}",
            f"{words['print.report_answered']} 3",
            f"{words['print.report_not_accepted']} {fewer}",
            f"{words['measure.material_help']} {fewer}",
            f"{words['print.report_openings']} 1",
            f"{words['print.report_meetings']} 1",
            f"{words['print.report_average_days']} 5",
        ]:
            assert expected_text in text, f"{lang}: missing {expected_text!r} in {text[:2500]}"
        # Every hidden count reads "fewer than 3" (two categories, four writers' roles, anonymous, not accepted,
        # referred, on time, closed, one measure: 12), and the note explains it once.
        assert text.count(fewer) == 12 + 1, text
        # Shares made of hidden counts are left out, never computed.
        not_shown = words["print.report_not_shown"]
        assert f"{words['print.report_anonymous_share']}: {not_shown}" in text
        assert f"{words['print.report_on_time_share']} {not_shown}" in text
        assert "%" not in text
        assert leaks(text, CANARIES) == [], lang
        # The case work's own words (decisions, measures, reasons) stay in the journal too.
        assert [word for word in ("Сүйлөшүү.", "Китеп.", "Уят сөздөр.") if word in text] == [], lang
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_pedagogue_is_reminded_of_last_months_information_until_it_is_marked(app, page, factory):
    school = factory.school()
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    reminder = page.locator(".report-reminder")
    expect(reminder).to_have_count(1)
    kind = "form-message-info" if school_today().day <= 5 else "form-message-error"  # an alert after the 5th
    expect(reminder).to_have_class(re.compile(kind))
    reminder.locator("a").click()
    page.locator("button.report-mark").click()
    expect(page.locator(".report-presented")).to_be_visible()
    page.goto("/#/journal")
    tablet.wait_for_journal()
    expect(page.locator(".report-reminder")).to_have_count(0)
    tablet.sync_now()
    expect(page.locator(".status-bar")).not_to_contain_text("…")
    with app.app_context():
        last_month = (school_today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        assert [p.month for p in db.session.query(Report).all()] == [last_month]
