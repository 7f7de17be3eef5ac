"""Throttling password guesses: per account and per address, counted by every worker process together.

Two limits, both Flask-Limiter's, on a storage all workers share (``server/limiter_storage.py`` by default):

- per account: ``LOGIN_ACCOUNT_LIMIT`` (5 per minute) FAILED password checks for one username, whether by
  logging in or by a wrong current password when changing it. Only failures count (``deduct_when``), so a
  teacher who logs in on five tablets is never held up. The 6th try inside the window is answered 429
  before the password is even checked, the same for a username that exists and one that does not.
- per address: ``LOGIN_ADDRESS_LIMIT`` (30 per minute) logins from one remote address, failed or not, so
  that one machine cannot try a few passwords on each of many accounts.

The address is ``request.remote_addr``: behind a reverse proxy it is the proxy's unless
``ISHENIM_TRUSTED_PROXIES`` says how many proxies to believe (``ProxyFix`` in ``create_app``).
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded, RouteLimit

from server import limiter_storage  # noqa: F401  # registers the ishenim+sqlite:// scheme with limits
from server.errors import ApiError, error_response

EXTENSION = "ishenim_throttle"
ACCOUNT_SCOPE = "password-account"
ADDRESS_SCOPE = "login-address"
# The codes of a wrong password. A right password for a disabled account, or a revoked device, is no guess.
FAILURE_CODES = frozenset({"invalid_credentials", "wrong_password"})
_FAILED = "ishenim_password_failed"
_ACCOUNT = "ishenim_account_key"


def account_key(username: str) -> str:
    """The per-account key: the name folded as a person would type it, then hashed.

    Login matches the username exactly; the key folds case, width and surrounding spaces, so that "Aida",
    "AIDA " and "aida" are counted together and varying them buys an attacker no extra tries. Hashing
    keeps usernames out of the storage and of Flask-Limiter's log line on a breach.
    """
    folded = unicodedata.normalize("NFKC", username).strip().casefold()
    return "account:" + hashlib.sha256(folded.encode()).hexdigest()[:32]


def client_address() -> str:
    return request.remote_addr or "unknown"


def _request_account() -> str:
    key: str = g.get(_ACCOUNT, "")
    return key


def _password_failed(_response: Response) -> bool:
    return bool(g.get(_FAILED))


@dataclass(frozen=True)
class Throttle:
    """An app's limiter and its two limits. They are made once and read everything per request (the figures
    from the config, the account from ``g``), so that threads entering them at once cannot mix accounts."""

    limiter: Limiter
    account: RouteLimit
    address: RouteLimit


def _throttle() -> Throttle:
    throttle: Throttle = current_app.extensions[EXTENSION]
    return throttle


@contextmanager
def _counting_failures(username: str) -> Iterator[None]:
    setattr(g, _ACCOUNT, account_key(username))
    with _throttle().account:  # 429 here when the account is spent; a failure is counted after the response
        try:
            yield
        except ApiError as error:
            if error.code in FAILURE_CODES:
                setattr(g, _FAILED, True)
            raise


@contextmanager
def login_attempt(username: str) -> Iterator[None]:
    """Run a login under both limits: 429 before the password is checked when either is spent."""
    with _throttle().address, _counting_failures(username):
        yield


@contextmanager
def password_check(username: str) -> Iterator[None]:
    """Run a logged-in user's check of their current password under the per-account limit."""
    with _counting_failures(username):
        yield


def retry_after(limiter: Limiter) -> int:
    """Whole seconds until the spent limit lets one more try through (at least 1)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    clock = getattr(limiter.storage, "clock", time.time)
    return max(1, math.ceil(breached.window.reset_time - clock()))


def init_app(app: Flask) -> None:
    # RATELIMIT_STORAGE_URI and RATELIMIT_STRATEGY come from the config (server/config.py).
    limiter = Limiter(key_func=client_address)
    limiter.init_app(app)
    app.extensions[EXTENSION] = Throttle(
        limiter=limiter,
        account=limiter.shared_limit(
            lambda: str(current_app.config["LOGIN_ACCOUNT_LIMIT"]),
            scope=ACCOUNT_SCOPE,
            key_func=_request_account,
            deduct_when=_password_failed,
        ),
        address=limiter.limit(
            lambda: str(current_app.config["LOGIN_ADDRESS_LIMIT"]), key_func=client_address, scope=ADDRESS_SCOPE
        ),
    )

    @app.errorhandler(RateLimitExceeded)
    def _too_many(_error: RateLimitExceeded) -> Response:
        # One answer for every account, existing or not, and for either limit: nothing to learn from it.
        seconds = retry_after(limiter)
        return error_response(
            429,
            "too_many_attempts",
            "Too many attempts; wait for the time in Retry-After and try again.",
            headers={"Retry-After": str(seconds)},
        )
