#!/usr/bin/env python3
"""The dependency audit: pip-audit over every installed package; a known vulnerability fails the run.

pip-audit asks a vulnerability service (PyPI's advisory data by default, or an OSV API) about each
package and version. Its JSON report is read here so the verdict is ours and says plainly which of
three things happened:

- a package has a known vulnerability: exit 1, naming the package, the version, the advisory and the fix;
- pip-audit itself could not run (no answer from an OSV service, a broken requirement): exit 2;
- the service answered for no package at all, as where PyPI's per-release pages are out of reach: a loud
  "NOT AUDITED" and exit 0, or exit 3 with ``--require-answers``. A registry outage must not turn CI red
  for a reason that is not the code's; it must not pass silently either.

Every other argument goes to pip-audit as it is (``-r FILE``, ``-s osv --osv-url URL``, ...).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    require_answers = "--require-answers" in argv
    passthrough = [arg for arg in argv if arg != "--require-answers"]
    pip_audit = Path(sys.executable).with_name("pip-audit")
    run = subprocess.run(  # noqa: S603 (pip-audit beside this interpreter, with our arguments)
        [str(pip_audit), "--format", "json", "--progress-spinner", "off", *passthrough],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print("Dependency audit FAILED to run:", file=sys.stderr)
        print(run.stderr.strip()[-2000:], file=sys.stderr)
        return 2
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    answered = [dep for dep in dependencies if "skip_reason" not in dep]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    if vulnerable:
        print(f"Dependency audit: {len(vulnerable)} package(s) with known vulnerabilities.", file=sys.stderr)
        return 1
    if dependencies and not answered:
        print(
            f"NOT AUDITED: the vulnerability service answered for none of {len(dependencies)} packages "
            "(first reason: " + dependencies[0]["skip_reason"] + ").",
            file=sys.stderr,
        )
        return 3 if require_answers else 0
    skipped = len(dependencies) - len(answered)
    print(f"Dependency audit: {len(answered)} packages checked, no known vulnerability ({skipped} not audited).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
