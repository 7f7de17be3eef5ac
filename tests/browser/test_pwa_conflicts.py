"""Two tablets on one letter: a correction made offline on both, the conflict shown field by field and
merged, the first tablet told its correction was superseded, and every reader's history with values; a step
of the case work recorded offline on both, the second shown beside the first and kept or dropped; a director
without access to contents sees "hidden" beside the case work's facts."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from sync.client import Outbox, SyncClient
from tests.browser.tablet import (
    Tablet,
    correct_offline,
    open_case_action,
    save_case_action,
    second_tablet,
    synced,
)
from tests.clock import school_today
from tests.factory import PASSWORD, test_client_transport


def _letter_url(tablet: Tablet) -> str:
    tablet.page.goto("/#/journal")
    row = tablet.page.locator(".journal-row").first
    expect(row.locator(".cell-number.is-provisional")).to_have_count(0, timeout=15000)
    href = row.get_attribute("href")
    assert href
    return f"/{href}"


def test_two_tablets_correct_one_letter_offline_merge_and_the_first_learns_it_was_superseded(
    playwright, live_server, tmp_path, page, factory
):
    school = factory.school()
    first_user, second_user = factory.user(school), factory.user(school)
    first = Tablet(page)
    first.enrol(first_user)
    first.register("Алгачкы нуска", full_name="Адинай Усенова")
    synced(first)
    letter_url = _letter_url(first)

    context, second = second_tablet(playwright, live_server.url, tmp_path / "second")
    try:
        second.enrol(second_user)
        expect(second.page.locator(".journal-row")).to_have_count(1, timeout=15000)

        correct_offline(first, letter_url, "Биринчи планшеттин нускасы", "Толукталды")
        correct_offline(second, letter_url, "Экинчи планшеттин нускасы", "Такталды")
        first.page.context.set_offline(False)
        synced(first)
        second.page.context.set_offline(False)
        second.sync_now()

        # The second tablet: base / server now (who, device) / mine, merged by hand, sent again.
        second.page.goto("/#/attention")
        item = second.page.locator(".attention-item[data-error=stale_version]")
        expect(item).to_be_visible(timeout=15000)
        item.locator("a.attention-edit").click()
        field = second.page.locator("fieldset.conflict-field[data-field=summary]")
        expect(field.locator(".conflict-base dd")).to_have_text("Алгачкы нуска")
        expect(field.locator(".conflict-server dd")).to_contain_text("Биринчи планшеттин нускасы")
        expect(field.locator(".conflict-server dd")).to_contain_text(f"Test {first_user}")
        expect(field.locator(".conflict-mine dd")).to_have_text("Экинчи планшеттин нускасы")
        field.locator("input[value=merge]").check()
        field.locator("input.conflict-merge").fill("Эки планшеттин нускасы бирге")
        second.page.locator("form.conflict-form button[type=submit]").click()
        expect(second.page).to_have_url(re.compile(r"#/letter/[^/]+$"))
        synced(second)
        second.page.goto("/#/attention")
        expect(second.page.locator(".attention-item")).to_have_count(0)

        # The first tablet, at its next pull: the mark on the journal row, the banner naming who and what.
        first.sync_now()
        first.page.goto("/#/journal")
        expect(first.page.locator(".journal-row .chip-superseded")).to_be_visible(timeout=15000)
        first.page.goto(f"{letter_url}")
        banner = first.page.locator(".superseded-banner")
        expect(banner).to_contain_text(f"Test {second_user}")
        expect(banner).to_contain_text("кыскача мазмуну")
        changes = first.page.locator(".history-change[data-field=summary]")
        expect(changes).to_have_count(2)
        expect(changes.nth(0).locator("del")).to_have_text("Алгачкы нуска")
        expect(changes.nth(0).locator("ins")).to_have_text("Биринчи планшеттин нускасы")
        expect(changes.nth(1).locator("del")).to_have_text("Биринчи планшеттин нускасы")
        expect(changes.nth(1).locator("ins")).to_have_text("Эки планшеттин нускасы бирге")
        expect(first.page.locator(".history-entry").nth(2)).to_contain_text(f"Test {second_user}")
        # Seen once the letter was opened: the journal's mark goes.
        first.page.goto("/#/journal")
        first.wait_for_journal()
        expect(first.page.locator(".journal-row .chip-superseded")).to_have_count(0)
    finally:
        context.close()


def _measure_offline(tablet: Tablet, letter_url: str, description: str) -> None:
    """Record a measure on a letter on a tablet cut off from the network."""
    tablet.page.context.set_offline(True)
    tablet.page.goto(letter_url)
    case = open_case_action(tablet.page, "measure_recorded", "textarea[name=description]", description)
    case.locator("select[name=kind]").select_option("conversation")
    save_case_action(tablet.page, "measure_recorded")


@pytest.mark.parametrize("choice", ["keep", "drop"])
def test_two_tablets_record_a_step_offline_the_second_sees_the_first_beside_its_own(
    playwright, live_server, tmp_path, page, factory, choice
):
    school = factory.school()
    first_user, second_user = factory.user(school), factory.user(school)
    first = Tablet(page)
    first.enrol(first_user)
    first.register("Бир кат", full_name="Адинай Усенова")
    synced(first)
    letter_url = _letter_url(first)

    context, second = second_tablet(playwright, live_server.url, tmp_path / "second")
    try:
        second.enrol(second_user)
        expect(second.page.locator(".journal-row")).to_have_count(1, timeout=15000)
        _measure_offline(first, letter_url, "Биринчи планшетте маек")
        _measure_offline(second, letter_url, "Экинчи планшетте маек")
        first.page.context.set_offline(False)
        synced(first)
        second.page.context.set_offline(False)
        second.sync_now()

        second.page.goto("/#/attention")
        item = second.page.locator(".attention-item[data-error=stale_version]")
        expect(item).to_be_visible(timeout=15000)
        item.locator("a.attention-edit").click()
        # The step recorded since this one's base, with who and what, beside mine.
        since = second.page.locator(".conflict-since .history-entry")
        expect(since).to_have_count(1)
        expect(since).to_contain_text(f"Test {first_user}")
        expect(since).to_contain_text("Биринчи планшетте маек")
        expect(second.page.locator(".conflict-mine-step")).to_contain_text("Экинчи планшетте маек")

        if choice == "keep":
            second.page.locator("button.conflict-keep").click()
            expect(second.page).to_have_url(re.compile(r"#/letter/[^/]+$"))
            synced(second)
            kept = ["Биринчи планшетте маек", "Экинчи планшетте маек"]
        else:
            second.page.locator("button.conflict-drop").click()
            dialog = second.page.locator("dialog[open]")
            expect(dialog).to_be_visible()
            dialog.locator("button[value=confirm]").click()
            expect(second.page).to_have_url(re.compile(r"#/letter/[^/]+$"))
            synced(second)
            kept = ["Биринчи планшетте маек"]
        second.page.goto("/#/attention")
        expect(second.page.locator(".attention-item")).to_have_count(0)

        # Both tablets, after their next pull, hold the same case work: the server's.
        first.sync_now()
        for tablet in (first, second):
            tablet.page.goto(letter_url)
            entries = tablet.page.locator(".history-entry", has_text="маек")
            expect(entries).to_have_count(len(kept), timeout=15000)
            for n, words in enumerate(kept):
                expect(entries.nth(n)).to_contain_text(words)
            expect(tablet.page.locator(".history-entry.is-pending")).to_have_count(0)
    finally:
        context.close()


def test_history_values_for_the_commission_and_hidden_words_for_a_director_without_access(
    app, client, playwright, live_server, tmp_path, page, factory
):
    school = factory.school()
    pedagogue = SyncClient(test_client_transport(client))
    pedagogue.login(factory.user(school), PASSWORD)
    today = school_today().isoformat()
    outbox = Outbox()
    appeal_id = str(uuid.uuid4())
    outbox.add(
        "appeal.registered",
        appeal_id,
        {
            "received_on": today,
            "opening_id": None,
            "applicant": {
                "anonymous": False,
                "full_name": "Нурлан Бекович",
                "age": 14,
                "role": "student",
                "grade": "8А",
                "address": None,
                "phone": None,
            },
            "summary": "Баштапкы мазмун",
            "text": None,
            "category": "bullying",
            "urgent": False,
            "receipt_code": None,
        },
    )
    outbox.flush(pedagogue)
    correction = {"changes": {"summary": "Оңдолгон мазмун"}, "reason": "Так эмес"}
    outbox.add("appeal.amended", appeal_id, correction, base_version=1)
    outbox.add(
        "appeal.measure_recorded",
        appeal_id,
        {"taken_on": today, "kind": "conversation", "description": "Жеке баарлашуу өттү", "taken_by": "Педагог"},
        base_version=2,
    )
    outbox.flush(pedagogue)

    commission = Tablet(page)
    commission.enrol(factory.user(school, "commission"))
    expect(page.locator(".journal-row")).to_have_count(1, timeout=15000)
    page.locator(".journal-row").first.click()
    change = page.locator(".history-change[data-field=summary]")
    expect(change.locator("del")).to_have_text("Баштапкы мазмун")
    expect(change.locator("ins")).to_have_text("Оңдолгон мазмун")
    expect(page.locator(".history-reason")).to_contain_text("Так эмес")

    context, director = second_tablet(playwright, live_server.url, tmp_path / "director")
    try:
        director.enrol(factory.user(school, "director"))
        expect(director.page.locator(".journal-row")).to_have_count(1, timeout=15000)
        director.page.locator(".journal-row").first.click()
        main = director.page.locator("main")
        expect(main.locator(".detail.is-hidden").first).to_be_visible()
        expect(main).not_to_contain_text("Оңдолгон мазмун")
        expect(main).not_to_contain_text("Нурлан")
        # The case work as the history records it: the measure, its date and kind, no "nothing yet".
        facts = main.locator(".case-facts")
        expect(facts).to_contain_text("Маек")
        expect(facts.locator(".case-item")).to_have_count(1)
        expect(main.locator(".history-entry")).to_have_count(3)
        expect(main.locator(".history-change")).to_have_count(0)  # values only for readers of contents
        # Which fields the correction changed, from the entry's readable "fields", for every role.
        expect(main.locator(".history-fields")).to_contain_text(re.compile("кыскача мазмуну", re.IGNORECASE))
    finally:
        context.close()


def test_a_second_letter_reusing_a_known_id_is_refused_kept_and_saved_as_a_new_entry(page, factory):
    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    tablet.register("Биринчи кат", full_name="Айбек Токтосунов")
    synced(tablet)
    # A second letter whose mutation takes the first one's id: through the app's own store, with ids given.
    page.evaluate(
        """async () => {
          const { createStore, listAppeals } = await import('/js/store.js');
          const [first] = await listAppeals();
          const known = first.history[0].id;
          const ids = [crypto.randomUUID(), known];
          const store = createStore({ randomUUID: () => ids.shift() ?? crypto.randomUUID() });
          const data = { received_on: first.received_on, opening_id: null,
            applicant: { anonymous: false, full_name: 'Экинчи арыз ээси', age: null, role: 'student', grade: null,
                         address: null, phone: null },
            summary: 'Экинчи кат', text: null, category: 'bullying', urgent: false, receipt_code: null };
          await store.registerAppeal(data);
        }"""
    )
    tablet.sync_now()
    page.goto("/#/attention")
    item = page.locator(".attention-item[data-error=id_reused]")
    expect(item).to_be_visible(timeout=15000)
    page.goto("/#/journal")
    expect(page.locator(".journal-row")).to_have_count(2)  # still on its tablet
    expect(page.locator(".journal-row .chip-attention")).to_have_count(1)
    page.goto("/#/attention")
    item.locator("button.attention-save-new").click()
    synced(tablet)
    expect(page.locator(".journal-row")).to_have_count(2)
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0)
    assert sorted(tablet.marks()) == ["1", "2"]
