"""Two real tablets (two browser profiles) against a live server: the letters opened on one reach the
director's audit on the other, with who, role and device (deliveries on demand, the CSV of the same rows);
the admin's actions with each setting before → after, and the dashboard's notice of a new account that
reads letters until the director acknowledges it. And a tablet whose access the admin withdraws: at its
next contact it forgets the letters it pulled and keeps the registration it made offline, until the admin
re-admits it and its user logs in again."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright, expect

from sync.client import SyncClient
from sync.events import Role
from tests.browser.conftest import LiveServer
from tests.browser.tablet import Tablet, enrol_named, leaks, second_tablet, store_call, sync_and_wait
from tests.factory import PASSWORD, Factory

LOCALES = Path(__file__).resolve().parents[2] / "pwa" / "locales"
CANARY = "Канарейка-ачылыш-мазмун K4W"


def catalog(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def call(factory: Factory, client: SyncClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, answer = factory.transport(method, path, body, {"Authorization": f"Bearer {client.token}"})
    return status, answer


def test_an_opening_offline_reaches_the_directors_audit_with_the_admins_actions_and_the_notice(
    live_server: LiveServer, page: Page, playwright: Playwright, factory: Factory, tmp_path: Path
) -> None:
    words = catalog("ky")
    school = factory.school("Мектеп № 3")
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=2, summary=CANARY)
    admin = SyncClient(factory.transport)
    admin.login(factory.user(school, "admin"), PASSWORD)
    commission_user = factory.user(school, "commission")

    # Tablet A: a commission member's; the letters come with its first sync.
    member = Tablet(page)
    enrol_named(member, commission_user, "Комиссиянын планшети")
    expect(page.locator(".journal-row")).to_have_count(2, timeout=20_000)
    letter_href = page.locator(".journal-row").first.get_attribute("href")
    assert letter_href

    # Offline for real: the letter is opened, and the opening is noted on the tablet.
    page.context.set_offline(True)
    page.goto(f"/{letter_href}")
    expect(page.locator("h1")).to_be_visible()
    page.wait_for_function("async () => (await (await import('/js/store.js')).viewCount()) === 1")
    stored = member.indexeddb_dump()
    assert len(stored["ishenim/viewlog"]) == 1
    assert leaks(json.dumps(stored, ensure_ascii=False), [CANARY]) == []  # no word of the letter in the clear
    assert leaks(json.dumps(stored["ishenim/viewlog"]), [letter_href.rsplit("/", 1)[1]]) == []  # the view: sealed
    page.context.set_offline(False)
    answer = sync_and_wait(member, "/api/v1/audit/views")
    assert len(answer["recorded"]) == 1 and answer["refused"] == []
    page.wait_for_function("async () => (await (await import('/js/store.js')).viewCount()) === 0")

    # The admin creates an account that reads letters and lets the director read them.
    status, created = call(
        factory,
        admin,
        "POST",
        "/api/v1/admin/users",
        {"username": "aizada", "full_name": "Айзада Темирова", "role": "pedagogue", "password": "a long password"},
    )
    assert status == 201, created
    status, _ = call(factory, admin, "PATCH", "/api/v1/admin/settings", {"director_reads_contents": True})
    assert status == 200

    # Tablet B: the director's.
    director_context, director = second_tablet(playwright, live_server.url, tmp_path / "director")
    try:
        d = director.page
        enrol_named(director, factory.user(school, "director"), "Директордун планшети")
        d.locator("nav.app-nav a[href='#/audit']").click()
        rows = d.locator("table.audit-table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(f"Test {commission_user}")
        expect(rows.first).to_contain_text(words["user_role.commission"])
        expect(rows.first).to_contain_text("Комиссиянын планшети")
        expect(rows.first).to_contain_text(re.compile(r"№ [12] \("))
        shown = rows.first.locator("td").nth(4).inner_text()
        assert leaks(d.content(), [CANARY]) == []

        # The CSV has the same rows.
        with d.expect_download() as download:
            d.locator("button[data-action=export]").click()
        assert download.value.suggested_filename.startswith("ishenim-audit-views-")
        table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        header, lines = table[0], table[1:]
        assert len(lines) == 1
        line = dict(zip(header, lines[0], strict=True))
        assert line["user_full_name"] == f"Test {commission_user}" and line["user_role"] == "commission"
        assert line["device_name"] == "Комиссиянын планшети"
        assert shown.startswith(f"№ {line['serial_no']} ")

        # Deliveries on demand: the member's pull carried the two letters.
        d.locator(".audit-kinds a[data-kind=deliveries]").click()
        expect(d).to_have_url(re.compile(r"#/audit\?kind=deliveries"))
        delivered = d.locator("table.audit-deliveries tbody tr", has_text=f"Test {commission_user}")
        expect(delivered.first).to_contain_text("Комиссиянын планшети")
        expect(delivered.first).to_contain_text(re.compile(r"№ 1 .*№ 2|№ 2 .*№ 1"))

        # The admin's actions, the setting before → after.
        d.locator(".audit-kinds a[data-kind=actions]").click()
        expect(d.locator("table.audit-actions tr[data-action=user_created]")).to_contain_text("Айзада Темирова")
        setting = d.locator("table.audit-actions tr[data-action=settings_changed]")
        expect(setting).to_contain_text(
            f"{words['admin.setting_director_reads_contents']}: {words['audit.value_no']} → {words['audit.value_yes']}"
        )
        with d.expect_download() as download:
            d.locator("button[data-action=export]").click()
        actions = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        assert {"user_created", "settings_changed"} <= {row["action"] for row in actions}
        d.screenshot(path=str(tmp_path / "audit-actions.png"), full_page=True)

        # The dashboard's notice of the new account, until the director acknowledges it.
        d.locator("nav.app-nav a[href='#/dashboard']").click()
        notice = d.locator(".dash-notices li.notice-item", has_text="Айзада Темирова")
        expect(notice).to_contain_text(words["user_role.pedagogue"])
        d.locator("nav.app-nav a[href='#/journal']").click()  # asked again: still there
        d.locator("nav.app-nav a[href='#/dashboard']").click()
        expect(notice).to_have_count(1)
        notice.locator("button[data-action=acknowledge]").click()
        expect(notice).to_have_count(0)
        d.locator("nav.app-nav a[href='#/journal']").click()  # acknowledged on the server: gone for good
        d.locator("nav.app-nav a[href='#/dashboard']").click()
        expect(d.locator(".dash-grid")).to_be_visible()
        expect(notice).to_have_count(0)
        assert d.errors == []  # type: ignore[attr-defined]
    finally:
        director_context.close()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_revoked_tablet_forgets_the_pulled_letters_keeps_its_unsent_work_and_comes_back_readmitted(
    live_server: LiveServer, page: Page, playwright: Playwright, factory: Factory, tmp_path: Path
) -> None:
    words = catalog("ky")
    school = factory.school("Мектеп № 4")
    factory.register(factory.device(Role.PEDAGOGUE, school), count=2, summary=CANARY)
    teacher = factory.user(school, "pedagogue")

    # Tablet B: the pedagogue's, with the school's letters and one more registered offline.
    b_context, b = second_tablet(playwright, live_server.url, tmp_path / "pedagogue")
    try:
        enrol_named(b, teacher, "Педагогдун планшети")
        expect(b.page.locator(".journal-row")).to_have_count(2, timeout=20_000)
        b_context.set_offline(True)
        b.register("Оффлайн катталган кат")
        assert store_call(b, "store.pendingCount()") == 1
        b.lock()

        # Tablet A: the admin's; it revokes B.
        a = Tablet(page)
        a.enrol(factory.user(school, "admin"))
        page.goto("/#/admin/devices")
        row = page.locator("tr.device-row", has_text="Педагогдун планшети")
        row.locator("[data-action=revoke]").click()
        page.locator("dialog button[value=confirm]").click()
        expect(row.locator("[data-action=readmit]")).to_be_visible()

        # B back online, unlocked: at its first contact it forgets what it pulled and says so.
        b_context.set_offline(False)
        b.unlock()
        expect(b.page.locator("h1")).to_have_text(words["withdrawn.title"], timeout=20_000)
        expect(b.page.locator(".withdrawn-notice")).to_have_text(words["withdrawn.device_revoked"])
        expect(b.page.locator(".journal-row")).to_have_count(0)
        assert store_call(b, "store.listAppeals().then((all) => all.map((v) => v.serial_no))") == [None]
        assert store_call(b, "store.pendingCount()") == 1
        assert store_call(b, "store.getCursor()") == 0
        assert leaks(json.dumps(b.indexeddb_dump(), ensure_ascii=False), [CANARY, "Оффлайн катталган кат"]) == []

        # Not yet re-admitted: the login is refused with what to do.
        b.page.fill("input[name=password]", PASSWORD)
        b.page.locator("form button[type=submit]").click()
        expect(b.page.locator("form .form-message")).to_contain_text(words["withdrawn.ask_admin"])

        # The admin re-admits B; the user logs in; the registration goes and the letters come back.
        row.locator("[data-action=readmit]").click()
        page.locator("dialog button[value=confirm]").click()
        expect(row.locator("[data-action=revoke]")).to_be_visible()
        b.page.fill("input[name=password]", PASSWORD)
        b.page.locator("form button[type=submit]").click()
        b.wait_for_journal()
        expect(b.page.locator(".journal-row")).to_have_count(3, timeout=20_000)
        expect(b.page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=20_000)
        assert sorted(b.marks(), key=int) == ["1", "2", "3"]
        assert store_call(b, "store.pendingCount()") == 0
        assert b.page.errors == []  # type: ignore[attr-defined]
    finally:
        b_context.close()
    assert page.errors == []  # type: ignore[attr-defined]
