"""The WSGI entry point: ``flask --app wsgi …`` and ``gunicorn wsgi:app``.

Making the app builds the PWA shell (server/pwa.py), so a worker has it before its first request. With
``gunicorn --preload`` the master makes the app once and its workers are forked from it, sharing the build
(no connection is left open to share: server/services/keys.py); without, each worker builds the same bytes.
"""

import gc
import sys

from server import create_app
from server.services.keys import StartupError

try:
    app = create_app()
except StartupError as error:
    sys.exit(f"ishenim: {error}")

# What the app loaded lives as long as the process: moved out of the collector's reach, a full collection
# no longer walks its hundreds of thousands of objects. One of them fell in every push of 1,000 letters and
# took a quarter of its time (docs/BENCHMARKS.md, "Server sync").
gc.freeze()
