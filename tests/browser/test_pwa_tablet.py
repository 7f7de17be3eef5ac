"""Tablet-first: every control is labelled and at least 44 px, in portrait and in landscape."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tablet import Tablet

# What a finger needs and a screen reader reads, for every visible control of the current screen.
AUDIT = """
() => [...document.querySelectorAll('a[href], button, input, select, textarea')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
                  && !el.closest('.visually-hidden') && el.type !== 'hidden')
  .map((el) => {
    // A switch's input sits under its track: the label around both is what the finger taps.
    const target = el.matches('input[type=checkbox]') ? (el.closest('label') || el) : el;
    const box = target.getBoundingClientRect();
    const labelled = !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)
      || (el.labels && el.labels.length > 0) || el.getAttribute('aria-label');
    return { what: el.outerHTML.slice(0, 80), width: box.width, height: box.height, labelled: Boolean(labelled),
             inline: Boolean(el.closest('p, li p, .breadcrumb')) && el.tagName === 'A' };
  })
"""
SCREENS = ["#/journal", "#/new", "#/attention", "#/settings"]


@pytest.mark.parametrize(
    "viewport", [{"width": 800, "height": 1280}, {"width": 1280, "height": 800}], ids=["portrait", "landscape"]
)
def test_controls_are_labelled_and_big_enough(page, factory, viewport):
    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    tablet.register("Текшерүү үчүн кат", full_name="Айдай Жээнбекова")
    letter = "#" + page.url.split("#")[1]
    page.set_viewport_size(viewport)
    for screen in [*SCREENS, letter, f"{letter}/amend"]:
        page.goto(f"/{screen}")
        expect(page.locator("main h1")).to_be_visible()
        controls = page.evaluate(AUDIT)
        assert controls, screen
        unlabelled = [c["what"] for c in controls if not c["labelled"]]
        small = [c for c in controls if not c["inline"] and (c["height"] < 44 or c["width"] < 44)]
        assert unlabelled == [], screen
        assert small == [], screen
        # Nothing wider than the screen: no sideways scrolling on a tablet.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], screen


def test_settings_show_storage_use_after_persistence_was_asked(page, factory):
    tablet = Tablet(page)
    tablet.enrol(factory.user(factory.school()))
    tablet.register("Биринчи сакталган кат", full_name="Эрмек Абдыкадыров")
    asked = page.evaluate("async () => (await import('/js/store.js')).getMeta('persistenceAsked')")
    assert asked
    page.goto("/#/settings")
    expect(page.locator("main")).to_contain_text("Б")  # a size in bytes, kilobytes or megabytes
    estimate = page.evaluate("navigator.storage.estimate().then((e) => e.usage)")
    assert estimate > 0
