"""The tablet under the login limits, in Kyrgyz: it says how long to wait and holds the button until then;
and a user changes their own password in the settings, which logs their other devices out."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from server import throttle
from server.db import db
from server.models import Device
from tests.browser.tablet import Tablet
from tests.factory import PASSWORD

KY = json.loads((Path(__file__).resolve().parents[2] / "pwa" / "locales" / "ky.json").read_text(encoding="utf-8"))


def ky(key: str, **values: object) -> str:
    text: str = KY[key]
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_the_login_screen_explains_the_wait_and_counts_it_down(app, page, factory):
    app.config.update(LOGIN_ACCOUNT_LIMIT="5 per minute", LOGIN_ADDRESS_LIMIT="30 per minute")
    clock = Clock()
    app.extensions[throttle.EXTENSION].limiter.storage.clock = clock  # the live server runs in this process
    username = factory.user(factory.school())
    page.goto("/")
    page.fill("input[name=username]", username)
    submit = page.locator("form button[type=submit]")
    message = page.locator(".form-message:not([hidden])")
    for _ in range(5):
        page.fill("input[name=password]", "not the password")
        submit.click()
        expect(message).to_have_text(ky("error.invalid_credentials"))
        expect(submit).to_be_enabled()

    clock.now += 57  # the first failure leaves the window in 3 seconds
    page.fill("input[name=password]", PASSWORD)
    submit.click()
    expect(message).to_have_text(ky("login.too_many_attempts", seconds=3))
    expect(submit).to_be_disabled()
    expect(submit).to_have_text(ky("login.wait", seconds=2), timeout=3000)  # counting down…
    clock.now += 4
    expect(submit).to_be_enabled(timeout=5000)  # …and given back when the wait is over
    expect(submit).to_have_text(ky("login.submit"))
    expect(message).to_have_count(0)
    submit.click()
    expect(page.locator("input[name=new-passphrase]")).to_be_visible()  # logged in: set the passphrase
    assert page.errors == []  # type: ignore[attr-defined]


def _device(app, device_id: str) -> Device:
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(device_id)))
        assert device is not None
        db.session.expunge(device)
        return device


def test_a_user_changes_their_password_in_the_settings(app, page, client, factory):
    username = factory.user(factory.school())
    elsewhere = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD, "device_name": "other tablet"}
    ).get_json()
    tablet = Tablet(page)
    tablet.enrol(username)
    page.goto("/#/settings")
    current, new, repeat = (page.locator(f"input[name={name}]") for name in ("current-password", "new-password",
                                                                            "repeat-password"))  # fmt: skip
    form = page.locator("form:has(input[name=current-password])")

    current.fill("not the password")
    new.fill("a brand new password")
    repeat.fill("a brand new password")
    form.locator("button[type=submit]").click()
    expect(form.locator(".field.has-error .field-error")).to_have_text(ky("error.wrong_password"))

    repeat.fill("something else entirely")
    current.fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(form.locator(".field.has-error .field-error")).to_have_text(ky("settings.password_mismatch"))

    repeat.fill("a brand new password")
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-message:not([hidden])")).to_have_text(ky("settings.password_changed"))
    expect(current).to_have_value("")

    assert _device(app, elsewhere["device_id"]).revoked_at is not None  # the other tablet must log in again
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {elsewhere['token']}"})
    assert (refused.status_code, refused.get_json()["error"]) == (401, "device_revoked")
    old = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD, "device_name": "x"})
    assert old.status_code == 401
    again = {"username": username, "password": "a brand new password", "device_name": "x"}
    assert client.post("/api/v1/auth/token", json=again).status_code == 201
    # This tablet keeps its login: it still syncs.
    tablet.register("Сырсөз алмашкандан кийинки кат")
    tablet.sync_now()
    expect(page.locator(".journal-row .cell-number.is-provisional")).to_have_count(0, timeout=15000)
    assert page.errors == []  # type: ignore[attr-defined]
