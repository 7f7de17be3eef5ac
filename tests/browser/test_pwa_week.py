"""A whole week of the Trust Box on the tablet, offline: an opening, two letters from it, a commission
meeting, one answer in person, one on the stand under a receipt code, a referral; then one sync, after
which the server's journal holds exactly that. The papers print to PDF in Kyrgyz and in Russian."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Page, expect

from server.db import db
from server.models import Appeal, Event, Meeting, Opening, School
from server.services import verify
from sync.client import Outbox
from tests.browser.conftest import SCREENSHOTS
from tests.browser.tablet import Tablet, leaks, save_case_action
from tests.clock import school_today

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
LOCALES = Path(__file__).resolve().parents[2] / "pwa" / "locales"
COMMISSION = [
    {"name": "Айгүл Жумабаева", "position": "социалдык педагог"},
    {"name": "Бакыт Осмонов", "position": "директордун орун басары"},
    {"name": "Чынара Кадырова", "position": "профсоюз өкүлү"},
]
WORKING_GROUP = COMMISSION[:2]


def catalog(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def printed(page: Page, route: str, lang: str, tmp_path: Path) -> str:
    """Open a print route in ``lang``, print it to A4 as Chromium does, and return the PDF's text."""
    page.goto(f"/#/print/{route}")
    page.locator(f".print-toolbar button[lang={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("body > .print-area .print-doc")).to_have_attribute("lang", lang)
    pdf = tmp_path / f"{route.replace('/', '-')}-{lang}.pdf"
    page.pdf(path=pdf, format="A4", prefer_css_page_size=True)
    text = subprocess.run(  # noqa: S603 (a fixed program on our own file)
        [PDFTOTEXT, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(text.split())


def case_action(page: Page, name: str) -> None:
    page.locator(f"details[data-action={name}] > summary").click()


def test_a_week_offline_then_one_sync_and_every_paper_prints(app, live_server, page, factory, tmp_path):
    shots = SCREENSHOTS if os.environ.get("ISHENIM_SCREENSHOTS") else tmp_path  # `make screenshots` keeps them
    school = factory.school("Мектеп № 7")
    with app.app_context():
        row = db.session.get(School, school.id)
        row.settings = {
            "commission_members": COMMISSION,
            "working_group": WORKING_GROUP,
            "trust_phones": [{"label": "Социалдык педагог", "phone": "+996 000 000 001"}],
        }
        db.session.commit()
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    tablet.sync_now()  # the calendar and the settings arrive while online
    expect(page.locator(".status-bar")).not_to_contain_text("…")
    page.reload()  # from now on the service worker serves the app, as on every later start of the tablet
    tablet.unlock()
    expect(page.locator("html")).to_have_attribute("lang", "ky")
    today = school_today().isoformat()

    live_server.offline()

    # Monday: the working group opens the box; the act is saved on the tablet.
    page.goto("/#/openings/new")
    expect(page.locator("textarea[name=members]")).to_have_value(
        "\n".join(f"{m['name']}, {m['position']}" for m in WORKING_GROUP)
    )
    page.fill("input[name=letters_count]", "2")
    page.locator("select[name=seal]").select_option("intact")
    page.fill("textarea[name=remarks]", "Пломба бүтүн, кулпу иштейт.")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/opening/[0-9a-f-]{36}$"))
    opening_url = page.url

    # The pedagogue prints slips for the box; an anonymous writer took one of them.
    page.goto("/#/print/slips")
    code = page.locator(".print-preview .print-slip-code").first.inner_text().strip()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{6}", code)

    # Two letters registered from the opening.
    page.goto(opening_url)
    page.locator("a[href$='/letter']").click()
    form = page.locator("form")
    form.locator("select[name=role]").select_option("student")
    form.locator("input[name=full_name]").fill("Айбек Токтосунов")
    form.locator("select[name=category]").select_option("bullying")
    form.locator("textarea[name=summary]").fill("Класста мени шылдыңдашат.")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/"))
    signed_url = page.url
    page.goto(opening_url)
    page.locator("a[href$='/letter']").click()
    form = page.locator("form")
    form.locator("select[name=role]").select_option("student")
    tablet.switch_on("anonymous")
    form.locator("select[name=category]").select_option("violence_or_cruelty")
    form.locator("textarea[name=summary]").fill("Үйдө мени урушат.")
    form.locator("input[name=receipt_code]").fill(code)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/"))
    hidden_url = page.url
    page.goto(opening_url)
    expect(page.locator(".card").last).to_contain_text("2")

    # Friday: the commission meets; each letter gets a decision and its competent official.
    page.goto("/#/meetings/new")
    page.fill("input[name=held_on]", today)
    for index in range(3):
        page.locator(f"input[name=member_confirmed_{index}]").check()
    items = page.locator(".agenda-item")
    expect(items).to_have_count(2)
    for index in range(2):
        item = items.nth(index)
        item.locator("textarea[name^=decision_]").fill("Класс жетекчиси менен сүйлөшүү.")
        item.locator("input[name^=official_]").first.fill("Бакыт Осмонов")
        item.locator("input[name^=official_position_]").fill("директордун орун басары")
    page.screenshot(path=str(shots / "meeting.png"), full_page=True)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/meeting/[0-9a-f-]{36}$"))
    meeting_url = page.url

    # The signed letter is answered in person and referred to the inspector; the anonymous one on the stand.
    page.goto(signed_url)
    case_action(page, "answered")
    page.locator("details[data-action=answered] textarea[name=text]").fill("Сиз менен жеке сүйлөштүк.")
    save_case_action(page, "answered")
    case_action(page, "referred")
    page.locator("details[data-action=referred] select[name=authority]").select_option("juvenile_inspector")
    page.locator("details[data-action=referred] input[name=outgoing_no]").fill("12/45")
    save_case_action(page, "referred")
    page.goto(hidden_url)
    case_action(page, "answered")
    page.locator("details[data-action=answered] textarea[name=text]").fill(
        "Катыңыз кабыл алынды, класс жетекчиси көзөмөлдөйт."
    )
    save_case_action(page, "answered")
    case_action(page, "notice_posted")
    save_case_action(page, "notice_posted")
    expect(page.locator(".case-work")).to_contain_text("Стендге илинди")
    expect(page.locator("main")).to_contain_text(code)
    page.locator(".case-work").screenshot(path=str(shots / "case-work.png"))

    # Every paper of the week prints from the tablet alone, in Kyrgyz and in Russian.
    notice_url = page.locator("a[href*='#/print/notice/']").get_attribute("href")
    assert notice_url is not None
    for lang in ("ky", "ru"):
        words = catalog(lang)
        act = printed(page, f"act/{opening_url.rsplit('/', 1)[1]}", lang, tmp_path)
        assert words["print.act_title"] in act and "Айгүл Жумабаева" in act and "Пломба бүтүн" in act
        minutes = printed(page, f"minutes/{meeting_url.rsplit('/', 1)[1]}", lang, tmp_path)
        assert words["print.minutes_title"] in minutes and "Чынара Кадырова" in minutes
        assert minutes.count("Бакыт Осмонов") >= 2 and "Класста мени шылдыңдашат." in minutes
        notice = printed(page, notice_url.split("#/print/", 1)[1], lang, tmp_path)
        assert words["print.notice_title"] in notice and code in notice and "класс жетекчиси көзөмөлдөйт" in notice
        assert "Үйдө мени урушат" not in notice  # nothing of the letter itself reaches the stand
        slips = printed(page, "slips", lang, tmp_path)
        assert words["print.slip_instruction"] in slips and len(re.findall(r"\b[0-9A-HJKMNP-TV-Z]{6}\b", slips)) >= 24

    # All of it is on the tablet sealed: none of the week's texts is readable in IndexedDB or the caches.
    stored = json.dumps([tablet.indexeddb_dump(), tablet.caches_dump()], ensure_ascii=False)
    written = [
        "Пломба бүтүн",
        "Класс жетекчиси менен сүйлөшүү",
        "Сиз менен жеке сүйлөштүк",
        "класс жетекчиси көзөмөлдөйт",
        "12/45",
    ]
    assert leaks(stored, [*written, code, "Айбек Токтосунов"]) == []

    # Back online: one sync carries the week to the server.
    live_server.online()
    page.goto("/#/journal")
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=20_000)
    with app.app_context():
        appeals = db.session.query(Appeal).order_by(Appeal.serial_no).all()
        assert [(a.serial_no, a.status, a.anonymous) for a in appeals] == [
            (1, "answered", False),
            (2, "answered", True),
        ]
        opening = db.session.query(Opening).one()
        assert {a.opening_id for a in appeals} == {opening.uuid}
        assert opening.record["letters_count"] == 2 and opening.acknowledged_at is None
        assert db.session.query(Meeting).one().held_on.isoformat() == today
        types = [e.type for e in db.session.query(Event).order_by(Event.position)]
        assert types.count("appeal.decided") == 2 and types.count("appeal.answered") == 2
        assert {"opening.recorded", "meeting.recorded", "appeal.referred", "appeal.notice_posted"} <= set(types)
        assert verify.first_break() is None
        head = db.session.get(School, school.id).chain_head

    # The journal prints with the official numbers and the chain's head on its pages.
    for lang in ("ky", "ru"):
        journal = printed(page, "journal", lang, tmp_path)
        assert catalog(lang)["journal.title"] in journal or catalog(lang)["print.journal_title"] in journal
        assert head in journal.replace(" ", "")
        assert "Айбек Токтосунов" in journal and "Бакыт Осмонов" in journal
    assert page.errors == []


def test_the_act_waits_on_the_directors_screen_until_acknowledged(app, page, factory):
    """The act is sent to the director (regulation 003 §2.4); the cadence alerts warn the director too."""
    school = factory.school()
    pedagogue = factory.device("pedagogue", school)
    opened_at = dt.datetime.now(dt.UTC).isoformat()
    act = {"opened_at": opened_at, "members": WORKING_GROUP, "letters_count": 0, "seal": "damaged", "remarks": None}
    outbox = Outbox()
    opening = outbox.add("opening.recorded", None, act)
    outbox.flush(pedagogue)
    assert outbox.acknowledged[opening["id"]]["status"] == "applied"

    tablet = Tablet(page)
    tablet.enrol(factory.user(school, "director"))
    tablet.sync_now()
    banner = page.locator(".acts-awaiting")
    expect(banner).to_contain_text("1")
    expect(page.locator(".cadence-alert")).to_have_count(0)  # collected today: nothing is late
    banner.locator("a").click()
    page.locator(f"a[href='#/opening/{opening['id']}']").click()
    expect(page.locator("main")).to_contain_text(catalog("ky")["seal.damaged"])
    page.locator("button", has_text=catalog("ky")["opening.acknowledge"]).click()
    expect(page.locator(".flash")).to_be_visible()
    tablet.sync_now()
    page.goto("/#/journal")
    expect(page.locator(".acts-awaiting")).to_have_count(0)
    with app.app_context():
        stored = db.session.query(Opening).one()
        assert stored.acknowledged_at is not None and stored.acknowledged_by.role == "director"
    # The director records nothing else: no form to register a letter or an opening is offered.
    expect(page.locator("a[href='#/new']")).to_have_count(0)
    page.goto("/#/openings")
    expect(page.locator("a[href='#/openings/new']")).to_have_count(0)


def test_cadence_alerts_when_the_box_was_not_opened_for_a_week(app, page, factory):
    school = factory.school()
    pedagogue = factory.device("pedagogue", school)
    eight_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).isoformat()
    outbox = Outbox()
    outbox.add(
        "opening.recorded",
        None,
        {"opened_at": eight_days_ago, "members": WORKING_GROUP, "letters_count": 1, "seal": "intact"},
    )
    outbox.flush(pedagogue)
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    tablet.sync_now()
    alerts = page.locator(".cadence-alert")
    expect(alerts).to_have_count(1)
    expect(alerts).to_contain_text("7")
