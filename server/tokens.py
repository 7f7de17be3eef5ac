"""Sliding expiry of device tokens: a token used lives on, an unused one dies ``TOKEN_TTL_DAYS`` after its last use.

Moving the expiry is a write, and a read request holds no write lock (``server/db.py``): on SQLite it runs in
a plain ``BEGIN`` and must stay that way, or readers would queue behind writers. So the hook only notes,
while authenticating, that the expiry is due to move (at most once a day per device), and the move happens
after the response is made and the request's own transaction has ended: one short write transaction of its
own. A failure there costs nothing but a retry at the next request.
"""

from __future__ import annotations

import logging

from flask import Flask, g
from sqlalchemy.exc import SQLAlchemyError

from server.db import begin_write, db
from server.services import accounts

log = logging.getLogger(__name__)

_DUE = "ishenim_slide_device"


def _note_slide() -> None:
    actor = g.get("actor")
    if actor is not None and accounts.slide_due(actor.device):
        setattr(g, _DUE, actor.device.id)


def _slide(error: BaseException | None) -> None:
    device_id = g.pop(_DUE, None)
    if device_id is None or error is not None:
        return
    try:
        begin_write()
        accounts.slide_expiry(device_id)
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("a token's expiry could not slide (%s); the next request tries again", type(exc).__name__)


def init_app(app: Flask) -> None:
    # Registered after server.api's authentication hook, so that g.actor is known here.
    app.before_request(_note_slide)
    # Teardown runs after the request's commit or rollback (server/db.py's after_request).
    app.teardown_request(_slide)
