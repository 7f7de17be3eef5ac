"""Retention on the tablet: a case erased on the server is forgotten by the PWA at its next sync.

The case is made over the API years back, the tablet syncs it whole, the operator's ``purge-expired``
erases it, and after the next sync the letter's page says its contents were erased, offers no correction
and no case work, and the tablet's own store, opened with its key, holds no word of the letter.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from playwright.sync_api import expect

from sync.events import Role
from tests.browser.tablet import Tablet
from tests.factory import registration
from tests.test_retention import Desk, World, ago

# The app's own store module, in the page: with the vault unlocked it opens every record it holds.
OPENED_STORE = """
async () => {
  const store = await import('/js/store.js');
  return JSON.stringify({
    appeals: await store.listAppeals(),
    attention: await store.attentionItems(),
    pending: await store.pendingMutations(),
  });
}
"""


def test_an_erased_case_is_forgotten_on_the_tablet(app, page, factory):
    school = factory.school()
    world = World(school, school, Desk(factory.device(Role.PEDAGOGUE, school)))
    world.closed_case("old", ago(6), amend=True)
    kept_summary = "Сакталган кат"
    world.desk.do(str(uuid.uuid4()), "appeal.registered", _letter(kept_summary))
    appeal = world.cases["old"]

    tablet = Tablet(page)
    tablet.enrol(factory.user(school))
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=15000)
    page.goto(f"/#/letter/{appeal}")
    expect(page.locator("main h1")).to_be_visible()
    held = page.evaluate(OPENED_STORE)
    pulled = json.dumps(world.desk.device.pull_all()[0], ensure_ascii=False)
    current = [canary for canary in world.canaries if canary in pulled]  # the case as it stands, reasons too
    assert len(current) >= 10 and [canary for canary in current if canary not in held] == []  # held whole
    expect(page.locator(".case-work")).to_be_visible()

    done = app.test_cli_runner().invoke(args=["purge-expired"])
    assert done.exit_code == 0 and "1 erased" in done.output, done.output

    tablet.sync_now()
    expect(page.locator(".status-bar button")).to_be_enabled(timeout=15000)
    page.goto("/#/journal")
    expect(page.locator(".journal-row .chip-erased")).to_have_count(1)
    page.goto(f"/#/letter/{appeal}")
    expect(page.locator(".erased-notice")).to_be_visible()
    expect(page.locator(".chip-erased")).to_be_visible()
    expect(page.locator(".case-work")).to_have_count(0)
    expect(page.locator(f"a[href='#/letter/{appeal}/amend']")).to_have_count(0)
    # Registered, corrected, referred, answered, a measure, closed: the history stays, its reasons gone.
    expect(page.locator(".history-entry")).to_have_count(6)
    shown = page.content()
    assert [canary for canary in world.canaries if canary in shown] == []

    held = json.loads(page.evaluate(OPENED_STORE))
    text = json.dumps(held, ensure_ascii=False)
    assert [canary for canary in world.canaries if canary in text] == []
    assert kept_summary in text  # the other letter keeps its words
    assert [view["erased"] for view in held["appeals"] if view["id"] == appeal] == [True]
    assert page.errors == []  # type: ignore[attr-defined]


def _letter(summary: str) -> dict[str, Any]:
    return registration(received_on=ago(0).isoformat(), summary=summary)
