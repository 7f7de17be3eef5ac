"""The WSGI entry point: ``flask --app wsgi …`` and ``gunicorn wsgi:app``."""

import sys

from server import create_app
from server.services.keys import StartupError

try:
    app = create_app()
except StartupError as error:
    sys.exit(f"ishenim: {error}")
