"""The school's administration and the audit in Debian's Chromium: the admin creates an account, disables
it (the server then refuses its login), gives it a new password, revokes a tablet and changes the settings
(a refused change marks its fields and keeps nothing; a good one is saved and reaches the admin's own
tablet); the director reads the deliveries that the pulls wrote, filters them, and downloads them as CSV —
numbers and names of staff only, never a word of a letter. Offline, both screens say they need the
network."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from server.db import db
from server.models import School
from server.services import schools
from sync.client import SyncClient, SyncError
from sync.events import Role
from sync.rules import school_year
from tests.browser.conftest import LiveServer
from tests.browser.tablet import Tablet, leaks
from tests.clock import school_today
from tests.factory import Factory

LOCALES = Path(__file__).resolve().parents[2] / "pwa" / "locales"
CANARY_SUMMARY = "Канарейка-аудит-мазмун Q7Z"
CANARY_NAME = "Канарейка Аудитбекова"


def catalog(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def login(factory: Factory, username: str, password: str) -> SyncClient:
    device = SyncClient(factory.transport)
    device.login(username, password)
    return device


def stored_settings(app: Flask, school: School) -> tuple[dict[str, object], dict[str, object]]:
    """What the server keeps for the school: the stored keys alone, and every setting with its default."""
    with app.app_context():
        row = db.session.get(School, school.id)
        assert row is not None
        return dict(row.settings or {}), {"name": row.name, **schools.settings_of(row)}


def test_the_admin_manages_accounts_devices_and_settings(
    app: Flask, live_server: LiveServer, page: Page, factory: Factory, tmp_path: Path
) -> None:
    words = catalog("ky")
    school = factory.school("Мектеп № 7")
    pedagogues_tablet = factory.device(Role.PEDAGOGUE, school)
    tablet = Tablet(page)
    tablet.enrol(factory.user(school, "admin"))
    nav = page.locator("nav.app-nav")
    expect(nav.locator("a[href='#/audit']")).to_have_count(1)
    nav.locator("a[href='#/admin']").click()

    # -- accounts: the admin's own row has no "disable"; a new account is created through the form --------
    users = page.locator("table.users-table")
    expect(users.locator("tr.user-row")).to_have_count(2)
    own = users.locator("tr.user-row", has=page.locator(".chip"))
    expect(own).to_have_count(1)
    expect(own.locator("[data-action=disable]")).to_have_count(0)
    form = page.locator("form.new-user-form")
    form.locator("input[name=full_name]").fill("Гүлзат Асанова")
    form.locator("input[name=username]").fill("gulzat")
    form.locator("select[name=role]").select_option("pedagogue")
    form.locator("input[name=password]").fill("a long password")
    form.locator("button[type=submit]").click()
    row = users.locator("tr[data-username=gulzat]")
    expect(row).to_contain_text(words["user_role.pedagogue"])
    expect(page.locator(".form-message-success")).to_contain_text("gulzat")
    gulzat = login(factory, "gulzat", "a long password")
    gulzat.pull()
    # The same username again: the server's refusal is shown next to the field, in Kyrgyz.
    form.locator("input[name=full_name]").fill("Башка Гүлзат")
    form.locator("input[name=username]").fill("gulzat")
    form.locator("select[name=role]").select_option("commission")
    form.locator("input[name=password]").fill("another long password")
    form.locator("button[type=submit]").click()
    expect(form.locator(".field.has-error")).to_contain_text(words["error.username_taken"])
    expect(users.locator("tr.user-row")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "admin-users.png"), full_page=True)

    # -- disable: the server refuses the account at once, its tablet and a new login alike ----------------
    row.locator("[data-action=disable]").click()
    expect(row.locator(".cell-state .chip")).to_be_visible()
    with pytest.raises(SyncError) as refused:
        gulzat.pull()
    assert (refused.value.status, refused.value.code) == (401, "account_disabled")
    with pytest.raises(SyncError) as refused:
        login(factory, "gulzat", "a long password")
    assert (refused.value.status, refused.value.code) == (401, "account_disabled")
    row.locator("[data-action=enable]").click()
    expect(row.locator("[data-action=disable]")).to_be_visible()
    with pytest.raises(SyncError) as refused:  # enabled again: the old token is dead, a login is needed
        gulzat.pull()
    assert (refused.value.status, refused.value.code) == (401, "invalid_token")
    gulzat = login(factory, "gulzat", "a long password")
    gulzat.pull()

    # -- a new password, asked for in a dialog that says every device must log in again -------------------
    row.locator("[data-action=password]").click()
    dialog = page.locator("dialog.password-dialog")
    expect(dialog).to_contain_text(words["admin.reset_body"])
    dialog.locator("input[name=new-password]").fill("short")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".field-error")).to_be_visible()
    dialog.locator("input[name=new-password]").fill("a brand new password")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_have_count(0)
    with pytest.raises(SyncError) as refused:
        gulzat.pull()
    assert refused.value.code == "device_revoked"
    login(factory, "gulzat", "a brand new password").pull()

    # -- devices: the pedagogue's tablet is revoked after a confirmation, and stops at once ---------------
    page.locator(".admin-tabs a[data-tab=devices]").click()
    device_row = page.locator(f"tr[data-device='{pedagogues_tablet.device_id}']")
    own_device = page.locator("tr.device-row", has=page.locator(".chip", has_text=words["admin.this_device"]))
    expect(own_device).to_have_count(1)
    device_row.locator("[data-action=revoke]").click()
    page.locator("dialog button[value=cancel]").click()  # changed one's mind: nothing happens
    pedagogues_tablet.pull()
    device_row.locator("[data-action=revoke]").click()
    page.locator("dialog button[value=confirm]").click()
    expect(device_row.locator(".cell-state .chip")).to_be_visible()
    expect(device_row.locator("[data-action=revoke]")).to_have_count(0)
    with pytest.raises(SyncError) as refused:
        pedagogues_tablet.pull()
    assert refused.value.code == "device_revoked"
    page.screenshot(path=str(tmp_path / "admin-devices.png"), full_page=True)

    # -- settings: a refused change marks its fields and keeps nothing ------------------------------------
    page.locator(".admin-tabs a[data-tab=settings]").click()
    settings = page.locator("form.admin-settings-form")
    expect(settings.locator("input[name=quorum]")).to_have_value("3")
    before = stored_settings(app, school)
    settings.locator("input[name=quorum]").fill("11")
    phones = settings.locator("[data-setting=trust_phones]")
    phones.locator("input[name=trust_phones-label]").first.fill("Балдардын ишеним телефону")
    settings.locator("button[type=submit]").click()
    expect(settings.locator(".field.has-error input[name=quorum]")).to_have_count(1)
    expect(settings.locator(".field.has-error")).to_contain_text(words["admin.error_range"].format(min=1, max=10))
    expect(phones.locator(".setting-row.has-error input[name=trust_phones-phone][aria-invalid]")).to_have_count(1)
    assert stored_settings(app, school) == before
    page.screenshot(path=str(tmp_path / "admin-settings-refused.png"), full_page=True)

    # -- a good change: quorum 2, a day off, the phone, a new name; only those keys are stored ------------
    settings.locator("input[name=quorum]").fill("2")
    phones.locator("input[name=trust_phones-phone]").first.fill("+996 000 000 111")
    days_off = settings.locator("[data-setting=days_off]")
    days_off.locator("input[name=days_off]").last.fill("2026-12-31")
    days_off.locator("button[data-add=days_off]").click()
    days_off.locator("input[name=days_off]").last.fill("2026-03-23")
    settings.locator("input[name=name]").fill("Мектеп № 7 (Бишкек)")
    settings.locator("button[type=submit]").click()
    expect(page.locator(".admin-settings > .form-message-success")).to_be_visible()
    stored, every = stored_settings(app, school)
    assert set(stored) == {"quorum", "days_off", "trust_phones"}  # the untouched ones keep their defaults
    assert every["quorum"] == 2 and every["name"] == "Мектеп № 7 (Бишкек)"
    assert [d.isoformat() for d in every["days_off"]] == ["2026-03-23", "2026-12-31"]  # type: ignore[union-attr]
    assert every["trust_phones"] == [{"label": "Балдардын ишеним телефону", "phone": "+996 000 000 111"}]
    expect(settings.locator("input[name=quorum]")).to_have_value("2")
    settings.locator("button[type=submit]").click()  # nothing left to change: nothing is sent
    expect(page.locator(".admin-settings .form-message-info")).to_contain_text(words["admin.settings_unchanged"])
    page.screenshot(path=str(tmp_path / "admin-settings.png"), full_page=True)
    # The admin's own tablet keeps the new settings in its session: the header shows them from the next unlock.
    tablet.lock()
    tablet.unlock()
    expect(page.locator(".brand-school")).to_have_text("Мектеп № 7 (Бишкек)")

    # -- offline: the screen needs the network, and comes back when asked again ---------------------------
    live_server.offline()
    nav.locator("a[href='#/journal']").click()
    tablet.wait_for_journal()
    nav.locator("a[href='#/admin']").click()
    expect(page.locator(".needs-network")).to_contain_text(words["admin.needs_network"])
    expect(page.locator("table.users-table")).to_have_count(0)
    live_server.online()
    page.locator(".needs-network button").click()
    expect(page.locator("table.users-table tr.user-row")).to_have_count(3)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_director_reads_the_audit_and_downloads_it(
    app: Flask, live_server: LiveServer, page: Page, factory: Factory, tmp_path: Path
) -> None:
    words = catalog("ky")
    school = factory.school("Мектеп № 12")
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(
        pedagogue,
        count=3,
        summary=CANARY_SUMMARY,
        applicant={
            "anonymous": False,
            "full_name": CANARY_NAME,
            "age": 13,
            "role": "student",
            "grade": "7Б",
            "address": None,
            "phone": None,
        },
    )
    pedagogue.pull_all()  # the pedagogue's pull decrypts the three letters: three entries
    status, me = factory.transport("GET", "/api/v1/me", None, {"Authorization": f"Bearer {pedagogue.token}"})
    assert status == 200
    pedagogue_name = me["user"]["full_name"]
    commission = factory.device(Role.COMMISSION, school)
    commission.pull_all()  # and three more, by someone else
    year = school_year(school_today())

    tablet = Tablet(page)
    tablet.enrol(factory.user(school, "director"))
    nav = page.locator("nav.app-nav")
    expect(nav.locator("a[href='#/admin']")).to_have_count(0)
    nav.locator("a[href='#/audit']").click()
    # No letter was opened on a tablet: the openings are empty; the deliveries are one switch away.
    expect(page.locator(".audit-results")).to_contain_text(words["audit.none"])
    page.locator(".audit-kinds a[data-kind=deliveries]").click()
    rows = page.locator("table.audit-table tbody tr")
    expect(rows).to_have_count(2)  # one pull each, three letters each
    expect(rows.first).to_contain_text(re.compile(rf"№ [123] \({year}–{year + 1}\)"))
    expect(page.locator("table.audit-table")).to_contain_text(words["user_role.pedagogue"])
    expect(page.locator("table.audit-table")).to_contain_text(words["user_role.commission"])
    assert leaks(page.content(), [CANARY_SUMMARY, CANARY_NAME, "Канарейка"]) == []
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)

    # The user filter, built from the entries: the pedagogue's pull alone.
    user_select = page.locator("form.audit-filters select[name=user]")
    expect(user_select.locator("option")).to_have_count(3)  # everyone, and the two readers
    pedagogue_option = user_select.locator("option", has_text=words["user_role.pedagogue"])
    user_select.select_option(pedagogue_option.get_attribute("value"))
    page.locator("form.audit-filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/audit\?kind=deliveries&user="))
    expect(rows).to_have_count(1)
    expect(page.locator("table.audit-table")).not_to_contain_text(words["user_role.commission"])
    expect(user_select.locator("option")).to_have_count(3)  # the other reader can still be chosen

    # The CSV of what is shown, fetched with the token and handed to the browser as a download.
    with page.expect_download() as download:
        page.locator("button[data-action=export]").click()
    assert download.value.suggested_filename.startswith("ishenim-audit-deliveries-")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 1
    assert table[0]["user_role"] == "pedagogue" and table[0]["user_full_name"] == pedagogue_name
    assert sorted(table[0]["letters"].split()) == [f"{n}/{year}" for n in (1, 2, 3)]
    assert leaks(text, [CANARY_SUMMARY, CANARY_NAME, "Канарейка"]) == []

    # A period: from tomorrow there is nothing; a period that ends before it begins is marked, not sent.
    today = school_today()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    page.locator("form.audit-filters input[name=from]").fill(tomorrow)
    page.locator("form.audit-filters button[type=submit]").click()
    expect(page.locator(".audit-results")).to_contain_text(words["audit.none"])
    expect(page.locator("button[data-action=export]")).to_be_disabled()
    page.locator("form.audit-filters input[name=to]").fill(today.isoformat())
    page.locator("form.audit-filters button[type=submit]").click()
    expect(page.locator("form.audit-filters .field.has-error")).to_contain_text(words["audit.error_period"])
    page.locator("form.audit-filters a[href='#/audit?kind=deliveries']").click()
    expect(rows).to_have_count(2)

    # Offline: it needs the network.
    live_server.offline()
    nav.locator("a[href='#/journal']").click()
    tablet.wait_for_journal()
    nav.locator("a[href='#/audit']").click()
    expect(page.locator(".needs-network")).to_contain_text(words["audit.needs_network"])
    live_server.online()
    page.locator(".needs-network button").click()
    expect(page.locator(".audit-results")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_admins_audit_offers_every_account(live_server: LiveServer, page: Page, factory: Factory) -> None:
    school = factory.school()
    factory.user(school, "commission")  # an account that never read a letter is still offered to the admin
    Tablet(page).enrol(factory.user(school, "admin"))
    page.locator("nav.app-nav a[href='#/audit']").click()
    expect(page.locator(".audit-results")).to_contain_text(catalog("ky")["audit.none"])
    expect(page.locator("button[data-action=export]")).to_be_disabled()
    expect(page.locator("form.audit-filters select[name=user] option")).to_have_count(3)  # everyone, admin, commission


def test_a_pedagogue_gets_neither_screen(live_server: LiveServer, page: Page, factory: Factory) -> None:
    school = factory.school()
    Tablet(page).enrol(factory.user(school, "pedagogue"))
    expect(page.locator("nav.app-nav a[href='#/admin'], nav.app-nav a[href='#/audit']")).to_have_count(0)
    page.goto("/#/admin")
    expect(page.locator(".dash-error")).to_contain_text(catalog("ky")["error.role_not_allowed"])
    page.goto("/#/audit")
    expect(page.locator(".dash-error")).to_contain_text(catalog("ky")["error.role_not_allowed"])
    assert page.errors == []  # type: ignore[attr-defined]
