"""Commands run as an operator runs them: a separate Python process, on one test instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = ("-m", "flask", "--app", "wsgi")


def run_python(instance: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the project, on ``instance``; ``DATABASE_URL``, when set, passes through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISHENIM_")}
    env["ISHENIM_INSTANCE"] = str(instance)
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def run_flask(instance: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``flask --app wsgi ARGS`` on ``instance``."""
    return run_python(instance, *FLASK, *args, stdin=stdin)
