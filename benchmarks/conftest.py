"""Benchmarks reuse the test fixtures (a fresh migrated database each); figures go through ``budget.figure``."""

from __future__ import annotations

from tests.browser.conftest import context, live_server, page, playwright  # noqa: F401 (fixtures)
from tests.conftest import app, client, factory, gunicorn, instance, migrated, postgres_for_run  # noqa: F401 (fixtures)
