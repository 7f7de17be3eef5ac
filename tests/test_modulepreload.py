"""index.html announces every module app.js loads at boot, so the browser asks for them all at once.

Without the list the browser finds the modules one import level at a time: nine levels, each a full round
trip — 2 s apiece on Slow 3G. A module added to the import graph and not to the list is not an error, only
slower; this test keeps the list true so that the first load does not quietly slow down again.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from server.pwa import PWA_DIR

IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]""", re.M)


def static_imports(module: str) -> set[str]:
    """The modules ``module`` imports statically (``import … from``, ``export … from``), as site paths."""
    source = (PWA_DIR / module.lstrip("/")).read_text(encoding="utf-8")
    found = set()
    for from_spec, bare_spec in IMPORT.findall(source):
        parts: list[str] = []
        for part in (PurePosixPath(module).parent / (from_spec or bare_spec)).parts:
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        found.add("/" + "/".join(parts[1:]))
    return found


def boot_graph() -> set[str]:
    seen: set[str] = set()
    todo = ["/js/app.js"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(static_imports(module))
    return seen - {"/js/app.js"}


def test_index_preloads_exactly_the_modules_of_the_boot():
    html = (PWA_DIR / "index.html").read_text(encoding="utf-8")
    preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    assert len(preloaded) == len(set(preloaded))
    assert set(preloaded) == boot_graph()
    assert len(preloaded) > 30  # the parser above found the imports: app.js alone names 28 modules
