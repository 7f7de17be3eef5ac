"""Ishenim's server: the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server import config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_path=os.environ.get("ISHENIM_INSTANCE", str(root / "instance")),
        static_folder=None,  # the PWA is served by server.pwa, which keeps clear of /api/
    )
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config:
        app.config.update(test_config)
    # Owner-only: the instance holds the database and, by default, the master key.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)

    from server import cli, compression, db, errors, headers, pwa, throttle, tokens
    from server.api import init_app as init_api
    from server.services import keys

    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the peer is the proxy: believe its X-Forwarded-For and -Proto, and only
        # from as many hops as configured, or a client could forge its address past the login limits.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    compression.init_app(app)
    init_api(app)
    throttle.init_app(app)
    tokens.init_app(app)
    pwa.init_app(app)
    cli.init_app(app)
    keys.init_app(app)
    return app
