"""The pedagogue's tablet as a test drives it: the same taps and keystrokes a person makes."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, Playwright, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import tablet_profile, watched_page
from tests.factory import PASSWORD

PASSPHRASE = "a long local passphrase"

# Reads every record of every IndexedDB store, binary fields as base64, for leak checks.
DUMP_INDEXEDDB = """
async () => {
  const toText = (value) => JSON.stringify(value, (key, v) => {
    if (v instanceof ArrayBuffer) v = new Uint8Array(v);
    if (ArrayBuffer.isView(v)) {
      let s = ''; new Uint8Array(v.buffer, v.byteOffset, v.byteLength).forEach((b) => { s += String.fromCharCode(b); });
      return { base64: btoa(s) };
    }
    return v;
  });
  const out = {};
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, fail) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result);
                                                   r.onerror = () => fail(r.error); });
    for (const name of db.objectStoreNames) {
      out[`${info.name}/${name}`] = await new Promise((ok, fail) => {
        const r = db.transaction(name).objectStore(name).getAll();
        r.onsuccess = () => ok(r.result.map(toText)); r.onerror = () => fail(r.error);
      });
    }
    db.close();
  }
  return out;
}
"""

DUMP_CACHES = """
async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.push({ cache: name, url: request.url, body: await response.text() });
    }
  }
  return out;
}
"""


class Tablet:
    def __init__(self, page: Page) -> None:
        self.page = page

    # -- getting in ---------------------------------------------------------------------------------
    def enrol(self, username: str, password: str = PASSWORD, passphrase: str = PASSPHRASE) -> None:
        """First run: log in over the network, then set the passphrase that unlocks this tablet."""
        self.page.goto("/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.locator("form button[type=submit]").click()
        self.page.fill("input[name=new-passphrase]", passphrase)
        self.page.fill("input[name=repeat-passphrase]", passphrase)
        self.page.locator("form button[type=submit]").click()
        self.wait_for_journal()
        # Offline-ready: the worker has precached the shell and controls this page (it claims it on activate),
        # so the screens the app loads with import() later come from its cache, offline too.
        self.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        self.page.wait_for_function("() => !!navigator.serviceWorker.controller")

    def unlock(self, passphrase: str = PASSPHRASE) -> None:
        """Unlock; the app returns to the screen it was locked on."""
        self.page.fill("input[name=passphrase]", passphrase)
        self.page.locator("form button[type=submit]").click()
        expect(self.page.locator("input[name=passphrase]")).to_have_count(0)

    def lock(self) -> None:
        self.page.locator("button.button-lock").click()
        expect(self.page.locator("input[name=passphrase]")).to_be_visible()

    def wait_for_journal(self) -> None:
        expect(self.page.locator(".journal-list, .empty").first).to_be_visible()

    # -- the journal --------------------------------------------------------------------------------
    def register(
        self,
        summary: str,
        *,
        anonymous: bool = False,
        full_name: str = "Айбек Токтосунов",
        urgent: bool = False,
        **private: str,
    ) -> None:
        """Register a letter through the form; ``private`` fills further text fields by name."""
        self.page.goto("/#/new")
        form = self.page.locator("form")
        form.locator("select[name=role]").select_option("student")
        if anonymous:
            self.switch_on("anonymous")
        else:
            form.locator("input[name=full_name]").fill(full_name)
        form.locator("select[name=category]").select_option("bullying")
        form.locator("textarea[name=summary]").fill(summary)
        for name, value in private.items():
            form.locator(f"[name={name}]").fill(value)
        if urgent:
            self.switch_on("urgent")
        form.locator("button[type=submit]").click()
        expect(self.page).to_have_url(re.compile(r"#/letter/"))

    def open_correction(self, letter_url: str) -> None:
        """Open a letter's correction form and wait for it: the screen before it may hold a form with the
        same fields (New letter has a summary too) until the correction's form replaces it."""
        self.page.goto(f"{letter_url}/amend")
        expect(self.page.locator("textarea[name=reason]")).to_be_visible()

    def switch_on(self, name: str) -> None:
        """Tap a switch where a finger would: on its track and label."""
        self.page.locator(f"label.toggle:has(input[name={name}])").click()
        expect(self.page.locator(f"input[name={name}]")).to_be_checked()

    def marks(self) -> list[str]:
        """The number column of the journal, top to bottom (``~3`` is a provisional mark)."""
        self.page.goto("/#/journal")
        self.wait_for_journal()
        return [m.strip().split()[-1] for m in self.page.locator(".journal-row .cell-number").all_inner_texts()]

    def sync_now(self) -> None:
        self.page.locator(".status-bar button").click()

    # -- what the browser keeps -----------------------------------------------------------------------
    def indexeddb_dump(self) -> dict[str, list[str]]:
        dump: dict[str, list[str]] = self.page.evaluate(DUMP_INDEXEDDB)
        return dump

    def caches_dump(self) -> list[dict[str, Any]]:
        dump: list[dict[str, Any]] = self.page.evaluate(DUMP_CACHES)
        return dump


def leaks(haystack: str, canaries: list[str]) -> list[str]:
    """The canaries found in ``haystack`` as text, UTF-16 or base64 of their UTF-8 bytes."""
    found = []
    for canary in canaries:
        raw = canary.encode()
        forms = [canary, json.dumps(canary)[1:-1]]
        for offset in range(3):
            # Whatever the alignment, the groups away from both ends depend on the canary alone.
            encoded = base64.b64encode(b"\0" * offset + raw).decode()
            forms.append(encoded[4 if offset else 0 : -4])
        if any(form and form in haystack for form in forms):
            found.append(canary)
    return found


def new_tablet(context: BrowserContext) -> Tablet:
    return Tablet(context.new_page())


def open_case_action(page: Page, name: str, field: str, value: str) -> Locator:
    """Open a case action's form on a letter's page and type ``value`` into its ``field``. A sync that ends
    meanwhile draws the page again, closing a form nothing was typed in yet (one typed in opens again with
    its draft): so the form is opened again until the first keystrokes land."""
    case = page.locator(f"details[data-action={name}]")
    for _ in range(5):
        if not case.evaluate("details => details.open"):
            case.locator("summary").click()
        try:
            case.locator(field).fill(value, timeout=3_000)
        except PlaywrightTimeoutError:
            continue  # drawn again under the tap
        return case
    raise AssertionError(f"the form of {name} did not stay open")


def save_case_action(page: Page, name: str) -> None:
    page.locator(f"details[data-action={name}] button[type=submit]").click()
    # Saved: the letter's page is drawn again, the flash on top and every action's form closed.
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("details.case-action[open]")).to_have_count(0)


def second_tablet(playwright: Playwright, base_url: str, profile: Path) -> tuple[BrowserContext, Tablet]:
    """Another tablet beside the ``page`` fixture's, on a profile of its own. The caller closes the context."""
    context = tablet_profile(playwright, base_url, profile)
    return context, Tablet(watched_page(context))


def enrol_named(tablet: Tablet, username: str, device_name: str, password: str = PASSWORD) -> None:
    """``Tablet.enrol`` with the device's name typed in, so the audit and the admin's list tell tablets apart."""
    page = tablet.page
    page.goto("/")
    page.fill("input[name=device_name]", device_name)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").click()
    page.fill("input[name=new-passphrase]", PASSPHRASE)
    page.fill("input[name=repeat-passphrase]", PASSPHRASE)
    page.locator("form button[type=submit]").click()
    tablet.wait_for_journal()
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def sync_and_wait(tablet: Tablet, path: str) -> Any:
    """Tap "Sync now" and wait for the sync's answer at ``path`` (e.g. ``/api/v1/audit/views``); its JSON."""
    with tablet.page.expect_response(lambda r: r.url.split("?")[0].endswith(path), timeout=20_000) as answer:
        tablet.sync_now()
    return answer.value.json()


def store_call(tablet: Tablet, expression: str) -> Any:
    """Evaluate ``expression`` over the app's store module (``store``), on an unlocked tablet."""
    return tablet.page.evaluate(f"async () => {{ const store = await import('/js/store.js'); return {expression}; }}")


def synced(tablet: Tablet) -> None:
    """Sync now and wait until nothing is left unsent (the journal shows no "not sent" mark)."""
    tablet.sync_now()
    tablet.page.goto("/#/journal")
    tablet.wait_for_journal()
    expect(tablet.page.locator(".journal-row .chip-pending")).to_have_count(0, timeout=15000)


def correct_offline(tablet: Tablet, letter_url: str, summary: str, reason: str) -> None:
    """Correct a letter's summary on a tablet cut off from the network (the browser context offline)."""
    tablet.page.context.set_offline(True)
    tablet.open_correction(letter_url)
    tablet.page.locator("textarea[name=summary]").fill(summary)
    tablet.page.locator("textarea[name=reason]").fill(reason)
    tablet.page.locator("form button[type=submit]").click()
    expect(tablet.page).to_have_url(re.compile(r"#/letter/[^/]+$"))
