"""One slip, one letter, on two real tablets: the same receipt code registered on both offline comes back to
the second under "Needs attention" naming the letter holding it, withdrawn there or corrected and sent again;
online, the letter form refuses a code the server knows for a letter this tablet has not pulled yet."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.tablet import Tablet, second_tablet, synced
from tests.clock import school_today

CODE = "K7M2QX"


def _letter_words(page: Page, serial_no: int, received_on: str) -> str:
    """How the tablet names a letter holding a code: its number and date in the tablet's own words."""
    words: str = page.evaluate(
        """async ([number, date]) => {
          const { formatDate, formatNumber, setLanguage, t } = await import('/js/i18n.js');
          await setLanguage('ky', { persist: false });  // this copy of the module: the words the app shows
          return t('receipt.held_by', { number: formatNumber(number), date: formatDate(date) });
        }""",
        [serial_no, received_on],
    )
    return words


def _same_code_offline_on_both(first: Tablet, second: Tablet, factory: Any) -> Locator:
    """Two tablets of one school register a letter each with the same code, both offline; the first syncs
    and its letter is No. 1; the second syncs and is refused. Returns the refusal's item on the second."""
    school = factory.school()
    first.enrol(factory.user(school))
    second.enrol(factory.user(school))
    first.page.context.set_offline(True)
    second.page.context.set_offline(True)
    first.register("Биринчи планшеттеги кат", full_name="Адинай Усенова", receipt_code=CODE)
    second.register("Экинчи планшеттеги кат", full_name="Адинай Усенова", receipt_code=CODE.lower())
    first.page.context.set_offline(False)
    synced(first)
    assert first.marks() == ["1"]
    second.page.context.set_offline(False)
    second.sync_now()
    second.page.goto("/#/attention")
    item = second.page.locator(".attention-item[data-error=receipt_code_used]")
    expect(item).to_be_visible(timeout=15000)
    # The holding letter named by its number and date, with a way to open it.
    expect(item.locator(".attention-holder")).to_contain_text(_letter_words(second.page, 1, school_today().isoformat()))
    expect(item.locator(".attention-holder a")).to_have_attribute("href", re.compile(r"^#/letter/[0-9a-f-]{36}$"))
    return item


def test_the_same_code_offline_on_two_tablets_the_same_letter_withdrawn(
    playwright, live_server, tmp_path, page, factory
):
    context, second = second_tablet(playwright, live_server.url, tmp_path / "second")
    try:
        item = _same_code_offline_on_both(Tablet(page), second, factory)
        item.locator("button.attention-withdraw").click()
        dialog = second.page.locator("dialog[open]")
        expect(dialog).to_be_visible()
        dialog.locator("button[value=confirm]").click()
        expect(second.page.locator(".attention-item")).to_have_count(0)
        # The journal holds one letter: the one the server numbered, with its code.
        synced(second)
        expect(second.page.locator(".journal-row")).to_have_count(1)
        assert second.marks() == ["1"]
        second.page.goto("/#/attention")
        expect(second.page.locator(".attention-item")).to_have_count(0)
    finally:
        context.close()


def test_the_same_code_offline_on_two_tablets_a_mistyped_code_corrected(
    playwright, live_server, tmp_path, page, factory
):
    context, second = second_tablet(playwright, live_server.url, tmp_path / "second")
    try:
        item = _same_code_offline_on_both(Tablet(page), second, factory)
        item.locator("a.attention-correct-code").click()
        code = second.page.locator("input[name=receipt_code]")
        expect(code).to_be_focused()
        expect(code).to_have_value(CODE)
        code.fill("K7M2QA")
        second.page.locator("form button[type=submit]").click()
        expect(second.page).to_have_url(re.compile(r"#/attention$"))
        synced(second)
        expect(second.page.locator(".journal-row")).to_have_count(2)
        assert sorted(second.marks()) == ["1", "2"]
        second.page.goto("/#/attention")
        expect(second.page.locator(".attention-item")).to_have_count(0)
    finally:
        context.close()


def test_online_the_form_refuses_a_code_the_server_knows_and_names_the_letter(
    playwright, live_server, tmp_path, page, factory
):
    school = factory.school()
    first = Tablet(page)
    first.enrol(factory.user(school))
    # The second tablet pulls before the letter exists, so only the server can know of it.
    context, second = second_tablet(playwright, live_server.url, tmp_path / "second")
    try:
        second.enrol(factory.user(school))
        first.register("Биринчи планшеттеги кат", full_name="Адинай Усенова", receipt_code=CODE)
        synced(first)

        second.page.goto("/#/new")
        form = second.page.locator("form")
        form.locator("select[name=role]").select_option("student")
        form.locator("input[name=full_name]").fill("Адинай Усенова")
        form.locator("select[name=category]").select_option("bullying")
        form.locator("textarea[name=summary]").fill("Ошол эле кат")
        form.locator("input[name=receipt_code]").fill(CODE)
        with second.page.expect_request(re.compile(r"/api/v1/receipt-codes/check$")) as asked:
            form.locator("button[type=submit]").click()
        assert CODE not in asked.value.url  # the code travels in the body only
        message = second.page.locator(".form-message .receipt-used")
        expect(message).to_contain_text(_letter_words(second.page, 1, school_today().isoformat()))
        expect(form.locator("input[name=receipt_code]")).to_be_focused()
        expect(second.page).to_have_url(re.compile(r"#/new$"))  # not saved
        # Nothing was saved: the tablet holds no letter of its own (the server's one arrives at its next pull).
        second.page.goto("/#/journal")
        second.wait_for_journal()
        expect(second.page.locator(".journal-row .chip-pending")).to_have_count(0)
    finally:
        context.close()
