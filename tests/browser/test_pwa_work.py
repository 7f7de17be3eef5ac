"""The pedagogue's day on the tablet: idle lock, wrong passphrases, logout, conflicts, drafts, languages."""

from __future__ import annotations

import json
import re
import uuid

from playwright.sync_api import expect

from server.db import db
from server.models import School
from sync.client import Outbox, SyncClient
from tests.browser.tablet import PASSPHRASE, Tablet
from tests.factory import PASSWORD, test_client_transport


def _school_with(app, factory, **settings):
    school = factory.school()
    if settings:
        with app.app_context():
            db.session.get(School, school.id).settings = settings
            db.session.commit()
    return school


def _block_push(page) -> None:
    page.route("**/api/v1/sync/push", lambda route: route.abort("connectionrefused"))


def test_idle_tablet_locks_after_the_schools_minutes(app, page, factory):
    school = _school_with(app, factory, idle_lock_minutes=2)
    page.clock.install()
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    tablet.register("Бир кат", full_name="Эмил Сатаров")
    page.clock.fast_forward("01:30")
    expect(page.locator("input[name=passphrase]")).to_have_count(0)  # not yet: 2 minutes is the setting
    page.clock.fast_forward("00:45")
    expect(page.locator("input[name=passphrase]")).to_be_visible()
    assert "Эмил" not in page.content()


def test_wrong_passphrases_make_the_wait_grow_and_wipe_nothing(page, factory):
    page.clock.install()
    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    _block_push(page)
    tablet.register("Жөнөтүлө элек", full_name="Асан Асанов")
    tablet.lock()
    submit = page.locator("form button[type=submit]")
    for attempt in range(1, 5):
        page.fill("input[name=passphrase]", f"wrong passphrase {attempt}")
        submit.click()
        expect(page.locator(".form-message-error")).to_be_visible()
    # After the fourth failure even the right passphrase has to wait, and the screen says how long.
    expect(page.locator(".form-message-warning")).to_be_visible()
    expect(submit).to_be_disabled()
    page.clock.fast_forward("00:11")
    expect(submit).to_be_enabled()
    tablet.unlock(PASSPHRASE)
    assert tablet.marks() == ["~1"]


def test_logout_warns_about_unsynced_letters_and_keeps_them(app, page, factory):
    school = factory.school()
    username = factory.user(school)
    tablet = Tablet(page)
    tablet.enrol(username)
    _block_push(page)
    tablet.register("Чыгуудан мурун", full_name="Бекзат Мамытов")
    page.goto("/#/settings")
    page.locator("button.button-danger-outline").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator(".form-message-warning")).to_be_visible()
    dialog.locator("button[value=confirm]").click()
    expect(page.locator("input[name=username]")).to_be_visible()

    page.unroute("**/api/v1/sync/push")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    if page.locator("input[name=passphrase]").count():
        tablet.unlock()
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)
    assert tablet.marks() == ["1"]


def test_a_conflicting_correction_waits_under_needs_attention_with_the_reason(app, client, page, factory):
    school = factory.school()
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    tablet.register("Биринчи нуска", full_name="Адинай Усенова")
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)
    assert tablet.marks() == ["1"]
    letter_url = page.locator(".journal-row").first.get_attribute("href")
    assert letter_url

    # A colleague's tablet corrects the same letter first.
    colleague = SyncClient(test_client_transport(client))
    colleague.login(factory.user(school), PASSWORD)
    appeal = colleague.pull()["changes"][0]
    outbox = Outbox()
    outbox.add(
        "appeal.amended",
        appeal["id"],
        {"changes": {"category": "other"}, "reason": "Түрү туура эмес"},
        base_version=appeal["version"],
    )
    outbox.flush(colleague)

    page.route("**/api/v1/sync/pull**", lambda route: route.abort("connectionrefused"))  # not seen yet here
    tablet.open_correction(f"/{letter_url}")
    page.locator("textarea[name=summary]").fill("Оңдолгон нуска")
    page.locator("textarea[name=reason]").fill("Мазмуну толукталды")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/[^/]+$"))
    page.unroute("**/api/v1/sync/pull**")
    tablet.sync_now()
    page.goto("/#/attention")
    item = page.locator("main li", has_text="Мазмуну толукталды")  # the correction, kept with its reason
    expect(item).to_be_visible(timeout=15000)
    expect(item).to_contain_text("2")  # and the server's current version, to redo it against
    page.goto("/#/settings")
    page.locator("button.segment[lang=en]").click()
    page.goto("/#/attention")
    expect(page.locator("main")).to_contain_text(re.compile("changed|version", re.IGNORECASE))


def test_the_update_never_takes_over_a_page_with_unsaved_input(app, page, factory, served_pwa):
    from server import pwa

    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    page.reload()
    tablet.unlock()
    page.goto("/#/new")
    draft = f"draft-{uuid.uuid4().hex[:8]}"
    page.locator("textarea[name=summary]").fill(draft)

    worker = served_pwa / "service-worker.js"
    worker.write_text(re.sub(r"const VERSION = '[^']*'", "const VERSION = 'test-next'", worker.read_text()))
    pwa.load_shell(app)  # the server restarted with the new version
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    banner = page.locator(".banner-update")
    expect(banner).to_be_visible(timeout=15000)
    page.evaluate("window.beforeTheUpdate = true")  # gone if the page is reloaded
    banner.locator("button").click()
    # Accepted, the update waits for the form: the new worker is still waiting, and no reload took the input.
    words = json.loads((pwa.PWA_DIR / "locales" / "ky.json").read_text(encoding="utf-8"))
    expect(banner).to_have_text(words["update.waiting_for_save"])
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => Boolean(r.waiting))")
    assert page.locator("textarea[name=summary]").input_value() == draft
    # Once the form is discarded, the new version takes over and the page reloads.
    page.locator("form .form-actions button.button-secondary").click()
    with page.expect_event("load", timeout=15000):
        page.locator("dialog button[value=confirm]").click()
    assert page.evaluate("window.beforeTheUpdate") is None


def test_language_switch_changes_every_word_and_is_remembered(page, factory):
    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    expect(page.locator("h1")).to_contain_text("журналы")
    for lang, title in (("ru", "Журнал регистрации обращений"), ("en", "Journal")):
        page.goto("/#/settings")
        page.locator(f"button.segment[lang={lang}]").click()
        page.goto("/#/journal")
        expect(page.locator("h1")).to_contain_text(title)
        assert page.locator("html").get_attribute("lang") == lang
    page.reload()
    tablet.unlock()
    page.goto("/#/journal")
    expect(page.locator("h1")).to_contain_text("Journal")


def test_the_form_follows_the_letter_and_the_page_tells_its_history(app, page, factory):
    """Anonymous hides the identity fields; urgent shows what to do and the trust phones at once, offline too;
    the letter's page lists its events, corrections with their reason."""
    from server.services.demo import DEMO_TRUST_PHONES

    school = _school_with(app, factory, trust_phones=DEMO_TRUST_PHONES)
    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    page.context.set_offline(True)
    page.goto("/#/new")
    identity = page.locator("input[name=full_name]")
    expect(identity).to_be_visible()
    tablet.switch_on("anonymous")
    expect(identity).to_be_hidden()
    expect(page.locator("input[name=age]")).to_be_visible()  # age and grade stay for an anonymous letter
    tablet.switch_on("urgent")
    for phone in DEMO_TRUST_PHONES:
        expect(page.locator("main")).to_contain_text(phone["phone"])
    page.locator("select[name=role]").select_option("student")
    page.locator("select[name=category]").select_option("violence_or_cruelty")
    page.locator("textarea[name=summary]").fill("Тарыхы бар кат")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/[^/]+$"))
    page.context.set_offline(False)
    letter = page.url.split("#")[1]
    tablet.open_correction(f"/#{letter}")
    page.locator("textarea[name=summary]").fill("Тарыхы бар кат, толукталды")
    page.locator("textarea[name=reason]").fill("Кошумча маалымат келди")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/[^/]+$"))
    tablet.sync_now()
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=15000)
    page.goto(f"/#{letter}")
    main = page.locator("main")
    expect(main).to_contain_text("Кошумча маалымат келди")  # the correction's reason, in the history
    expect(main).to_contain_text("Тарыхы бар кат, толукталды")
    expect(main).to_contain_text("№ 1")  # the official number has replaced the provisional mark


def test_an_expired_token_asks_for_the_password_and_keeps_the_device(app, page, factory):
    """401 on sync: the tablet asks for the password, re-authenticates as the same device, and sends."""
    from sqlalchemy import select

    from server.models import Device, utcnow

    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    _block_push(page)
    tablet.register("Токен эскирген соң", full_name="Мээрим Алиева")
    with app.app_context():
        (device,) = db.session.scalars(select(Device)).all()
        device_id = device.uuid
        device.expires_at = utcnow()
        db.session.commit()
    page.unroute("**/api/v1/sync/push")
    # The loop retrying the refused push meets the 401 by itself and asks for the password.
    dialog = page.locator("dialog.relogin[open]")
    expect(dialog).to_be_visible(timeout=30000)
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_have_count(0)
    tablet.sync_now()
    expect(page.locator("main")).to_contain_text("№ 1", timeout=15000)
    assert tablet.marks() == ["1"]
    with app.app_context():
        assert [d.uuid for d in db.session.scalars(select(Device))] == [device_id]  # no second enrolment
