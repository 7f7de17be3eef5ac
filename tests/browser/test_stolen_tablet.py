"""A stolen tablet (issue 6, item 10): locked, it gives away no letter and no token, and one revocation by
the school's admin makes the token it holds useless.

The thief gets the whole browser profile: not only what a page can read back (IndexedDB, Cache Storage,
Local and Session Storage) but every file Chromium wrote under its user-data folder (LevelDB logs and
tables, IndexedDB blobs, the HTTP cache, the service worker's storage, History, the session-restore
files, metrics databases, logs). So the canaries are searched in both, with the app locked and, for the
disk, after the browser closed and flushed everything.

Searching the raw files alone would prove little. Chromium (156, IndexedDB on LevelDB) does compress:
Blink compresses a large IndexedDB value with Snappy (a 200 KiB one was, 40 KiB ones were not), LevelDB
compresses its table blocks with Snappy once the log is compacted, and the write-ahead log cuts records
into 32 KiB blocks; so a text stored in plain can be absent from the raw bytes (a compressor writes a
repeated text as back-references). ``chromium_disk`` therefore also joins the log's records, decompresses
every table block and inflates every Snappy-compressed value and blob, and searches UTF-8, UTF-16, JSON-,
URL- and base64-encoded forms. The first test proves on a control profile that this reader finds texts a
page stores in plain through every one of those paths, where the raw bytes do not hold them, and the two
leaks below; the last proves on the real tablet that the reader sees the app's own plaintext (the
journal's chain head in ``meta``) while finding no canary. Should Chromium change its formats (another
block codec, IndexedDB on SQLite), the reader fails on the unknown codec and the control test's paths
fail, rather than a blind scan passing.

Two leaks this test found, both fixed in the PWA: Chromium saved what was typed in the letter form's
textareas with the tab's session (``Sessions/``), because they lacked ``autocomplete=off`` (``dom.js`` now
makes every form control with it); and the journal's search kept the words in the address
(``#/journal?q=…``), which Chromium writes to History, Favicons, the session files and a metrics database
(the address now carries a random reference to words kept in the tab's memory: ``filters.js``).
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Playwright, expect
from sqlalchemy import func, select

from server.db import db
from server.models import Appeal, School
from sync.client import SyncClient, SyncError, urllib_transport
from tests.browser import chromium_disk
from tests.browser.conftest import LiveServer, tablet_profile, watched_page
from tests.browser.tablet import Tablet, leaks, open_case_action, save_case_action
from tests.clock import school_today
from tests.factory import PASSWORD, Factory, registration
from tests.test_casework import Desk

WORKING_GROUP = [
    {"name": "Айгүл Жумабаева", "position": "социалдык педагог"},
    {"name": "Бакыт Осмонов", "position": "директордун орун басары"},
]
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def canary(label: str) -> str:
    """A text found nowhere by chance: a label (Cyrillic ones become V8's two-byte strings) and 48 random bits."""
    return f"{label}-{secrets.token_hex(6)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the reader of the disk is not blind ---------------------------------------------------------------

# A page that stores probes in plain, the way a careless app would, in every place the tablet's scan reads.
STORE_PROBES = """
async (p) => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open('control', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('s');
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
  const put = (entries) => new Promise((ok, fail) => {
    const tx = db.transaction('s', 'readwrite', { durability: 'strict' });
    for (const [key, value] of entries) tx.objectStore('s').put(value, key);
    tx.oncomplete = ok; tx.onerror = () => fail(tx.error);
  });
  const noise = (n) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(33 + Math.floor(Math.random() * 90));
    return s;
  };
  // Each half of a probe appears first, so a compressor writes the whole probe as two back-references
  // (within one 64 KiB fragment: Snappy refers no further back).
  const split = (probe, filler) => probe.slice(0, 8) + filler + probe.slice(8) + filler + probe;
  // Enough incompressible records after this one that LevelDB moves it from the log into a table.
  await put([['tabled', { text: split(p.tabled, 'uvwxyz'.repeat(40)) }]]);
  for (let round = 0; round < 8; round++) {
    await put(Array.from({ length: 500 }, (_, i) => [`noise-${round}-${i}`, { text: noise(2000) }]));
  }
  // Then, left in the log: small values as they are, a big one compressed by Blink, a huge one in a blob.
  await put([
    ['small', { text: p.small }],
    ['two-byte', { text: p.twoByte }],
    ['compressed', { text: 'abcdefghij'.repeat(10000) + split(p.compressed, 'abcdefghij'.repeat(50)) }],
    ['blob', { text: 'klmnopqrst'.repeat(300000) + split(p.blob, 'klmnopqrst'.repeat(50)) }],
  ]);
  db.close();
  const cache = await caches.open('control');
  await cache.put('/control', new Response(p.cached));
  localStorage.setItem('control', p.local);
  sessionStorage.setItem('control', p.session);
  location.hash = '#/journal?' + new URLSearchParams({ q: p.address });
  return true;
}
"""


def test_the_disk_reader_finds_what_a_page_stores_in_plain(playwright: Playwright, live_server: LiveServer, tmp_path):
    """Control: every path the tablet's scan relies on finds a text that is there, where a raw search would not."""
    probes = {
        "small": canary("small probe"),
        "twoByte": canary("кичинекей сынак"),
        "compressed": canary("compressed probe"),
        "blob": canary("blob probe"),
        "tabled": canary("tabled probe"),
        "cached": canary("cached probe"),
        "local": canary("local probe"),
        "session": canary("session probe"),
        "address": canary("Издөө сөзү"),
        "typed": canary("Жазылган текст"),
    }
    profile = tmp_path / "control"
    context = tablet_profile(playwright, live_server.url, profile)
    page = watched_page(context)
    page.goto("/manifest.webmanifest")  # any page of the app's origin; the app itself would not store these
    assert page.evaluate(STORE_PROBES, probes)
    # A textarea with autocomplete on, typed into, then a navigation: the form's state goes with the session.
    page.evaluate("""() => { const f = document.createElement('form'); f.append(document.createElement('textarea'));
                             document.body.append(f); }""")
    page.locator("textarea").fill(probes["typed"])
    page.evaluate("location.hash = '#/next'")
    page.wait_for_url(re.compile("#/next$"))  # the browser committed the navigation, the page's state with it
    context.close()

    hits = chromium_disk.scan(profile, list(probes.values()))
    found = {probe for texts in hits.values() for probe in texts}
    assert found == set(probes.values())

    def where(name: str) -> list[str]:
        return [place for place, texts in hits.items() if probes[name] in texts]

    # Only the decoding finds the compressed ones: their raw files hold back-references, not the text.
    assert where("compressed") and all("inflated value" in place for place in where("compressed"))
    assert where("blob") and all(".indexeddb.blob" in place and "inflated value" in place for place in where("blob"))
    assert any(".ldb (table block" in place for place in where("tabled")), where("tabled")
    assert all("(raw)" not in place for place in where("tabled") if ".ldb" in place)
    assert any("CacheStorage" in place for place in where("cached"))
    assert any("Local Storage" in place for place in where("local"))
    assert any("Session Storage" in place for place in where("session"))
    assert any("History" in place for place in where("address"))
    assert any("Sessions" in place for place in where("typed"))


def test_snappy_literals_and_overlapping_copies():
    # "abcabcabcabcX": a 3-byte literal, a copy of 9 bytes 3 back (overlapping itself), a 1-byte literal.
    stream = bytes([13, 2 << 2]) + b"abc" + bytes([((9 - 4) << 2) | 1, 3]) + bytes([0]) + b"X"
    assert chromium_disk.snappy_decompress(stream) == b"abcabcabcabcX"
    with pytest.raises(chromium_disk.Unreadable):
        chromium_disk.snappy_decompress(bytes([5, (4 - 4) << 2 | 1, 9]))  # a copy from before the start


# -- the stolen tablet -------------------------------------------------------------------------------------


def test_a_locked_stolen_tablet_gives_away_no_letter_and_no_token_and_revocation_kills_its_token(
    app: Flask, playwright: Playwright, live_server: LiveServer, factory: Factory, tmp_path: Path
) -> None:
    school = factory.school("Мектеп № 9")
    with app.app_context():
        db.session.get(School, school.id).settings = {"working_group": WORKING_GROUP}
        db.session.commit()
    pedagogue = factory.user(school)
    admin = factory.user(school, "admin")
    colleague = Desk(factory.device("pedagogue", school))  # another pedagogue's tablet, through the API
    c = {
        name: canary(label)
        for name, label in [
            ("full_name", "Канарейка Аты"),
            ("address", "Канарейка көчөсү"),
            ("address_corrected", "Оңдолгон дарек"),
            ("phone", "+996 kanareyka"),
            ("summary", "Канарейка кыскача"),
            ("text", "Канарейка кат тексти"),
            ("reason", "Оңдоонун себеби"),
            ("anonymous_summary", "Аты жок канарейка"),
            ("anonymous_text", "Аты жок кат тексти"),
            ("remarks", "Пломба канарейка"),
            ("answer", "Канарейка жооп"),
            ("outgoing_no", "kanar-no"),
            ("contact", "Канарейка инспектор"),
            ("note", "Жолдомо эскертмеси"),
            ("measure", "Канарейка чара"),
            ("colleague_name", "Кесиптештин окуучусу"),
            ("colleague_address", "Кесиптештин дареги"),
            ("colleague_summary", "Кесиптештин каты"),
            ("colleague_text", "Кесиптештин кат тексти"),
            ("colleague_answer", "Кесиптештин жообу"),
            ("offline_name", "Оффлайн окуучу"),
            ("offline_summary", "Оффлайн жазылган кат"),
        ]
    }
    c["grade"] = f"7Б-{secrets.token_hex(4)}"
    # Six symbols: searched as text and UTF-16 only (a base64 form that short would match noise).
    c["receipt_code"] = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))
    canaries = list(c.values())

    # -- 1. the tablet enrols; the token it gets is a real one, good from anywhere until revoked ----------
    profile = tmp_path / "profile"
    context = tablet_profile(playwright, live_server.url, profile)
    page = watched_page(context)
    errors = page.errors  # type: ignore[attr-defined]
    tablet = Tablet(page)
    with page.expect_response("**/api/v1/auth/token") as issued:
        tablet.enrol(pedagogue)
    answer = issued.value.json()
    token, device_id = answer["token"], answer["device_id"]
    thief = SyncClient(urllib_transport(live_server.url), token=token, device_id=device_id)
    assert thief.pull()["changes"] == []
    tablet.sync_now()
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=15_000)
    page.reload()  # from now on the service worker serves the shell, as on every later start
    tablet.unlock()

    # A colleague's letter, with its case work, reaches this tablet by the pull.
    today = school_today().isoformat()
    applicant = registration()["applicant"]
    colleagues = colleague.register(
        registration(
            applicant={**applicant, "full_name": c["colleague_name"], "address": c["colleague_address"]},
            summary=c["colleague_summary"],
            text=c["colleague_text"],
        )
    )
    answered = {"answered_on": today, "way": "in_person", "kind": "answer", "text": c["colleague_answer"]}
    assert colleague.send("appeal.answered", colleagues, answered)["status"] == "applied"

    # The pedagogue's own work: an act with remarks, a signed and an anonymous letter, a correction.
    page.goto("/#/openings/new")
    page.fill("input[name=letters_count]", "2")
    page.fill("textarea[name=remarks]", c["remarks"])
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/opening/[0-9a-f-]{36}$"))
    tablet.register(
        c["summary"], full_name=c["full_name"], address=c["address"], phone=c["phone"], grade=c["grade"], text=c["text"]
    )
    signed = page.url
    tablet.register(c["anonymous_summary"], anonymous=True, receipt_code=c["receipt_code"], text=c["anonymous_text"])
    tablet.open_correction(signed)
    page.fill("input[name=address]", c["address_corrected"])
    page.fill("textarea[name=reason]", c["reason"])
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/letter/[0-9a-f-]{36}$"))
    tablet.sync_now()
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=20_000)

    # Case work on the signed letter: the answer, a referral, a measure (offline, so that no sync redraws
    # the page under an open form).
    page.goto(signed)
    expect(page.locator("main")).to_contain_text("№ ", timeout=20_000)
    context.set_offline(True)
    open_case_action(page, "answered", "textarea[name=text]", c["answer"])
    save_case_action(page, "answered")
    case = open_case_action(page, "referred", "input[name=outgoing_no]", c["outgoing_no"])
    case.locator("select[name=authority]").select_option("juvenile_inspector")
    case.locator("input[name=contact]").fill(c["contact"])
    case.locator("textarea[name=note]").fill(c["note"])
    save_case_action(page, "referred")
    case = open_case_action(page, "measure_recorded", "textarea[name=description]", c["measure"])
    case.locator("select[name=kind]").select_option(index=1)
    save_case_action(page, "measure_recorded")
    context.set_offline(False)
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=20_000)
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=20_000)

    # Everything is read decrypted on the tablet: its own letter, the colleague's pulled one, the act.
    page.goto(signed)
    main = page.locator("main")
    for name in ("full_name", "address_corrected", "phone", "grade", "summary", "text", "reason", "answer", "measure"):
        expect(main).to_contain_text(c[name])
    page.goto(f"/#/letter/{colleagues}")
    for name in ("colleague_name", "colleague_summary", "colleague_text", "colleague_answer"):
        expect(main).to_contain_text(c[name])
    # A search by a child's name: found, and the words are nowhere in the address.
    page.goto("/#/journal")
    page.fill("input[name=q]", c["full_name"])
    expect(page.locator(".journal-list .journal-row")).to_have_count(1)
    assert chromium_disk.found_in(page.url.encode(), canaries) == []
    # The printed journal's preview holds the names.
    page.goto("/#/print/journal")
    expect(page.locator("body > .print-area")).to_contain_text(c["colleague_name"])

    # A letter typed with no network stays in the outbox.
    context.set_offline(True)
    tablet.register(c["offline_summary"], full_name=c["offline_name"])
    assert [mark for mark in tablet.marks() if mark.startswith("~")] != []
    assert page.evaluate("async () => (await import('/js/store.js')).pendingCount()") == 1

    # -- 2. locked ---------------------------------------------------------------------------------------
    tablet.lock()
    assert leaks(page.content(), [*canaries, token]) == []
    assert page.locator("body > .print-area").count() == 0
    # The app's own modules refuse the session (and so the token) until the passphrase is given.
    refused = page.evaluate(
        "async () => (await import('/js/store.js')).getSession().then(() => 'read', (error) => error.name)"
    )
    assert refused == "Locked"

    # (a) What a script of this origin reads back: IndexedDB, Cache Storage, Local and Session Storage.
    indexeddb = tablet.indexeddb_dump()
    cached = tablet.caches_dump()
    storage = page.evaluate("() => ({ local: { ...localStorage }, session: { ...sessionStorage } })")
    dumped = json.dumps([indexeddb, cached, storage], ensure_ascii=False)
    assert leaks(dumped, [*canaries, token]) == []
    assert storage == {"local": {}, "session": {}}  # (c) nothing at all there
    assert [entry["url"] for entry in cached if "/api/" in entry["url"]] == []
    # The dump is the real journal: every letter sealed, the unsent one still in the outbox, and the plain
    # chain head (not confidential) readable, so a plaintext would have shown.
    assert len(indexeddb["ishenim/appeals"]) == 4
    outbox = [json.loads(row) for row in indexeddb["ishenim/outbox"]]
    assert [row["seq"] for row in outbox if not row.get("acked")] != []
    with app.app_context():
        head = db.session.get(School, school.id).chain_head
    assert head in dumped

    # (b) The profile on disk, after the browser closed and flushed it.
    context.close()
    files = chromium_disk.profile_files(profile)
    assert any(".indexeddb.leveldb" in str(path) for path in files)
    assert chromium_disk.scan(profile, [*canaries, token]) == {}
    # The reader saw the journal's own values on the disk: the plain chain head is found in IndexedDB.
    assert [place for place in chromium_disk.scan(profile, [head]) if "IndexedDB" in place] != []

    # -- 3. the admin revokes the tablet: its token is dead at once ----------------------------------------
    office = SyncClient(urllib_transport(live_server.url))
    office.login(admin, PASSWORD, "the school office")
    status, revoked = office.transport("POST", f"/api/v1/admin/devices/{device_id}/revoke", None, bearer(office.token))
    assert status == 200 and revoked["revoked_at"] is not None
    with pytest.raises(SyncError) as pulled:
        thief.pull()
    assert (pulled.value.status, pulled.value.code) == (401, "device_revoked")
    with pytest.raises(SyncError) as pushed:
        thief.push([])
    assert (pushed.value.status, pushed.value.code) == (401, "device_revoked")
    status, body = thief.transport("GET", "/api/v1/me", None, bearer(token))
    assert (status, body["error"]) == (401, "device_revoked")

    # The tablet started again and unlocked: at its first contact it forgets the letters it pulled, keeps
    # the unsent one, and says its access was withdrawn, with the login form.
    context = tablet_profile(playwright, live_server.url, profile)
    page = watched_page(context)
    errors_after = page.errors  # type: ignore[attr-defined]
    tablet = Tablet(page)
    page.goto("/")
    with page.expect_response(lambda r: "/api/v1/sync/" in r.url and r.status == 401) as refusal:
        tablet.unlock()
    assert refusal.value.json()["error"] == "device_revoked"
    expect(page.locator(".withdrawn-notice")).to_be_visible(timeout=15_000)
    assert page.evaluate("async () => (await import('/js/store.js')).pendingCount()") == 1
    assert len(page.evaluate("async () => (await import('/js/store.js')).listAppeals()")) == 1  # its own, unsent
    # The same device is refused until the admin re-admits it; then the login keeps it, and the letter goes out.
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/token") and r.status == 401) as refused:
        page.locator("form button[type=submit]").click()
    assert refused.value.json()["error"] == "device_revoked"
    status, _ = office.transport("POST", f"/api/v1/admin/devices/{device_id}/readmit", None, bearer(office.token))
    assert status == 200
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/token") and r.status == 201) as renewed:
        page.locator("form button[type=submit]").click()
    assert renewed.value.json()["device_id"] == device_id
    tablet.wait_for_journal()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=20_000)
    assert sorted(tablet.marks(), key=int) == ["1", "2", "3", "4"]
    with app.app_context():
        count = db.session.scalar(select(func.count(Appeal.id)).where(Appeal.school_id == school.id))
    assert count == 4
    with pytest.raises(SyncError) as still:
        thief.pull()
    assert still.value.code == "invalid_token"  # re-admitting gave the device a fresh token, not the old one back
    context.close()
    assert errors == [] and errors_after == []
