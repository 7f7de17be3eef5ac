"""The PWA in Debian's Chromium: installable, offline, exactly-once sync, no leaks, updates, the lock."""

from __future__ import annotations

import os
import re
import uuid

from playwright.sync_api import Route, expect
from sqlalchemy import func, select

from server import pwa
from server.db import db
from server.models import Appeal, Event, School
from server.services.demo import DEMO_TRUST_PHONES
from tests.browser.conftest import SCREENSHOTS
from tests.browser.tablet import PASSPHRASE, Tablet, leaks, new_tablet


def _pedagogue(factory):
    school = factory.school()
    return school, factory.user(school)


def _appeals_on_server(app, school) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Appeal.id)).where(Appeal.school_id == school.id)) or 0


def _events_on_server(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Event.id))) or 0


def _go_offline(context, live_server) -> None:
    context.set_offline(True)
    live_server.offline()


def _go_online(context, live_server) -> None:
    live_server.online()
    context.set_offline(False)


def test_installable_with_no_console_errors_and_no_other_origin(page, factory, live_server):
    """Chromium's own installability check finds nothing missing, and the app asks nobody but its server."""
    requested: list[str] = []
    page.context.on("request", lambda request: requested.append(request.url))
    tablet = Tablet(page)
    tablet.enrol(_pedagogue(factory)[1])
    tablet.register("Башка сайтка суроо жок", full_name="Тилек Мамбетов")
    page.reload()
    tablet.unlock()
    cdp = page.context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    assert page.errors == []
    assert requested and [url for url in requested if not url.startswith(live_server.url)] == []


def test_offline_week_then_exactly_once_sync(app, context, page, live_server, factory):
    """Offline: the shell runs from its cache, letters survive closing the page, and reach the server once."""
    school, username = _pedagogue(factory)
    tablet = Tablet(page)
    tablet.enrol(username)

    _go_offline(context, live_server)
    page.reload()
    tablet.unlock()
    for n in range(3):
        tablet.register(f"Оффлайн кат {n}")
    assert sorted(tablet.marks()) == ["~1", "~2", "~3"]
    expect(page.locator(".banner-offline")).to_be_visible()
    page.close()

    reopened = new_tablet(context)
    reopened.page.goto("/")
    reopened.unlock()
    assert sorted(reopened.marks()) == ["~1", "~2", "~3"]

    _go_online(context, live_server)
    reopened.sync_now()
    expect(reopened.page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)
    assert sorted(reopened.marks()) == ["1", "2", "3"]
    assert _appeals_on_server(app, school) == 3


def test_lost_response_is_retried_without_duplicate(app, page, factory):
    """The server commits the push but the tablet sees a network error; the retry is answered duplicate."""
    school, username = _pedagogue(factory)
    tablet = Tablet(page)
    tablet.enrol(username)
    lost: list[int] = []

    def commit_then_fail(route: Route) -> None:
        if not lost:
            response = route.fetch()  # the server receives, applies and commits the push
            lost.append(response.status)
            route.abort("connectionreset")  # …and the answer never reaches the tablet
        else:
            route.continue_()

    page.route("**/api/v1/sync/push", commit_then_fail)
    tablet.register("Жоголгон жооп")
    tablet.register("Экинчи кат")
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=30000)
    assert lost == [200]
    assert sorted(tablet.marks()) == ["1", "2"]
    assert _appeals_on_server(app, school) == 2
    assert _events_on_server(app) == 2


def test_no_canary_in_indexeddb_or_cache_storage(page, factory):
    """Everything the browser keeps is sealed: no letter text in IndexedDB, no API answer in Cache Storage."""
    tablet = Tablet(page)
    tablet.enrol(_pedagogue(factory)[1])
    canaries = [f"canary-{uuid.uuid4().hex[:12]}" for _ in range(5)]
    tablet.register(
        canaries[0], full_name=canaries[1], address=canaries[2], phone="+996 555 123 456", text=canaries[3], grade="7Б"
    )
    tablet.register(canaries[4], anonymous=True, urgent=True)
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)

    stored = tablet.indexeddb_dump()
    assert stored, "the journal is in IndexedDB"
    assert leaks(str(stored), [*canaries, "+996 555 123 456"]) == []
    cached = tablet.caches_dump()
    assert cached, "the shell is in Cache Storage"
    assert [entry["url"] for entry in cached if "/api/" in entry["url"]] == []
    assert leaks(str(cached), canaries) == []
    # The device token is in the sealed session only.
    token = page.evaluate("""async () => (await (await import('/js/store.js')).getSession()).token""")
    assert token and leaks(str(stored), [token]) == []


def test_lock_hides_every_letter_until_the_passphrase(page, factory):
    tablet = Tablet(page)
    tablet.enrol(_pedagogue(factory)[1])
    secret = f"secret-{uuid.uuid4().hex[:10]}"
    tablet.register(secret, full_name="Гүлнара Осмонова")
    tablet.lock()
    assert secret not in page.content() and "Гүлнара" not in page.content()
    page.fill("input[name=passphrase]", "not the passphrase")
    page.locator("form button[type=submit]").click()
    expect(page.locator(".form-message:not([hidden])")).to_be_visible()
    assert secret not in page.content()
    tablet.unlock(PASSPHRASE)
    expect(page.locator("main")).to_contain_text(secret)  # back on the letter it was locked on


def test_update_prompt_reloads_into_the_new_version_keeping_unsynced_letters(app, page, factory, served_pwa):
    """A new shell version asks before it takes over; accepting reloads into it with the outbox intact."""
    tablet = Tablet(page)
    tablet.enrol(_pedagogue(factory)[1])
    page.reload()  # from now on the service worker controls the page, as on every later start
    tablet.unlock()
    page.route("**/api/v1/sync/push", lambda route: route.abort("connectionrefused"))  # keep them unsynced
    tablet.register("Жөнөтүлө элек кат")
    tablet.register("Дагы бир кат")

    worker = served_pwa / "service-worker.js"
    worker.write_text(re.sub(r"const VERSION = '[^']*'", "const VERSION = 'test-next'", worker.read_text()))
    pwa.load_shell(app)  # the server restarted with the new version
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    banner = page.locator(".banner-update")
    expect(banner).to_be_visible(timeout=15000)
    with page.expect_navigation():
        banner.locator("button").click()
    tablet.unlock()
    version = page.evaluate("""() => new Promise((ok) => { const c = new MessageChannel();
        c.port1.onmessage = (e) => ok(e.data.version);
        navigator.serviceWorker.controller.postMessage({type: 'GET_VERSION'}, [c.port2]); })""")
    assert version == "test-next"
    assert sorted(tablet.marks()) == ["~1", "~2"]
    (cache,) = page.evaluate("caches.keys()")  # the old shell's cache is gone
    assert cache.startswith("ishenim-shell-test-next-")  # and the new one is named by its build


def test_an_update_downloads_only_the_files_that_changed(app, page, factory, served_pwa):
    """The worker precaches from versioned addresses the server marks immutable (server/pwa.py): a new
    version of one file is one download on Slow 3G, not the whole shell again."""
    tablet = Tablet(page)
    tablet.enrol(_pedagogue(factory)[1])
    page.reload()
    tablet.unlock()
    asked: list[str] = []
    served = app.wsgi_app

    def recording(environ, start_response):
        if not environ["PATH_INFO"].startswith("/api/"):
            asked.append(environ["PATH_INFO"] + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""))
        return served(environ, start_response)

    app.wsgi_app = recording
    stylesheet = served_pwa / "css/print.css"
    stylesheet.write_text(stylesheet.read_text() + "\n.changed-by-the-test { color: red; }\n")
    pwa.load_shell(app)  # the server restarted with the new version
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    expect(page.locator(".banner-update")).to_be_visible(timeout=15000)  # the new worker has installed
    (version,) = [path.split("?v=")[1] for path in asked if path.startswith("/css/print.css?v=")]
    # The worker's script may be asked more than once (the reload's own update check can land after the
    # recording began); every other file at most once, and only the changed one.
    assert sorted(path for path in asked if path != "/service-worker.js") == ["/css/print.css?v=" + version]
    assert "/service-worker.js" in asked
    # The new worker's cache holds the new file under the address the page asks for; the old one, still
    # serving the page until the update is accepted, is untouched.
    held = page.evaluate("""async () => Promise.all((await caches.keys()).map(
        async (name) => (await (await caches.open(name)).match('/css/print.css')).text()))""")
    assert sorted("changed-by-the-test" in text for text in held) == [False, True]


def test_readme_screenshots(app, page, factory, tmp_path):
    """The README's two screenshots, from the real app with fictional letters (``make screenshots`` keeps them)."""
    folder = SCREENSHOTS if os.environ.get("ISHENIM_SCREENSHOTS") else tmp_path
    school, username = _pedagogue(factory)
    with app.app_context():
        db.session.get(School, school.id).settings = {"trust_phones": DEMO_TRUST_PHONES}
        db.session.commit()
    tablet = Tablet(page)
    tablet.enrol(username)
    tablet.register("Тыныгууда улуу класстын окуучулары акчамды тартып алышат.", full_name="Айбек Токтосунов")
    tablet.register("Үйдө ата-энем урушат, сабакка көңүл бура албай жатам.", anonymous=True)
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)
    page.route("**/api/v1/sync/push", lambda route: route.abort("connectionrefused"))  # one waits to be sent
    tablet.register("Класста мени шылдыңдашат.", full_name="Нурай Бекова")
    folder.mkdir(parents=True, exist_ok=True)
    tablet.marks()
    expect(page.locator(".banner-progress")).to_have_count(0, timeout=15000)
    page.screenshot(path=str(folder / "journal.png"))
    page.goto("/#/new")
    tablet.switch_on("urgent")
    page.locator("select[name=category]").select_option("violence_or_cruelty")
    page.screenshot(path=str(folder / "new-letter-urgent.png"), full_page=True)
    assert (folder / "journal.png").stat().st_size > 10_000


def test_a_fresh_devices_login_form_needs_nothing_but_the_page(page):
    """The critical path (docs/PWA.md): on Slow 3G each wave of requests costs 2 s, so the page carries what
    the login form needs: its modules, its stylesheet and the Kyrgyz catalog (server/pwa_page.py). Besides
    it only the preload of js/app.js, the manifest and the icon begin before the form is drawn, and the form
    waits for none of them; every other module comes with import() when its screen opens."""
    page.goto("/")
    expect(page.locator("input[name=username]")).to_be_editable()
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)")
    assert [path for path in loaded if path.endswith(".js")] == ["/js/app.js"]  # the modulepreload of the stub
    assert not [path for path in loaded if path.endswith(".css") or path.startswith("/locales/")]
    # The same instances for the screens loaded later: the stub hands over the page's modules.
    assert page.evaluate(
        "async () => (await import('/js/app.js')).__bundle_js_i18n === globalThis.__ishenimBoot.__bundle_js_i18n"
    )
    assert page.evaluate("() => document.getElementById('catalog-ky') === null")  # read, then removed
    assert page.errors == []
