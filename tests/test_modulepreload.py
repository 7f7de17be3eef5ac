"""The first screen's critical path: app.js and its static imports carried by the page, and nothing else.

The browser would find the modules one import level at a time (each level a 2 s round trip on Slow 3G),
and even announced with ``<link rel="modulepreload">`` fourteen files take three waves of six connections.
So server/pwa_bundle.py bundles app.js with its static import graph, server/pwa_page.py puts the bundle in
the page, and every other screen comes with ``import()``. This keeps both true: index.html on disk loads
the entry alone and preloads no module (the page as served preloads only the stub of js/app.js, through
which later screens share the bundle's modules: tests/test_pwa_bundle.py), the bundle is exactly app.js's
static graph (found here by a parser of its own), and that graph holds only what a fresh device's login
form needs.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from server import pwa_bundle
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


# What the login form of a fresh device needs; a screen or the store imported statically would put its
# bytes on every first load (the store and rules.js alone are ~15 KB gzipped): load it with import().
FIRST_SCREEN = {
    "/js/api.js",
    "/js/crypto.js",
    "/js/dom.js",
    "/js/i18n.js",
    "/js/idb.js",
    "/js/router.js",
    "/js/session.js",
    "/js/update.js",
    "/js/vault.js",
    "/js/ui/dialogs.js",
    "/js/ui/drafts.js",
    "/js/ui/errors.js",
    "/js/ui/fields.js",
    "/js/ui/login.js",
    "/js/ui/shell.js",
}


def test_index_preloads_no_module():
    html = (PWA_DIR / "index.html").read_text(encoding="utf-8")
    assert 'rel="modulepreload"' not in html
    assert re.findall(r'<script type="module" src="([^"]+)"></script>', html) == ["/js/app.js"]


def test_the_bundle_is_the_static_graph_of_the_first_screen():
    graph = boot_graph()
    assert graph == FIRST_SCREEN, "a new static import of app.js: is it needed before the login form?"
    assert {"/" + module for module in pwa_bundle.plan(PWA_DIR).members} == graph | {"/js/app.js"}
