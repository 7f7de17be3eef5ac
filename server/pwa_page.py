"""``index.html`` as served: a fresh device's first screen in ONE round trip.

On Slow 3G every request costs a 2 s round trip before its first byte. The page on disk links its
stylesheet and its entry module, so a fresh device's login form waited for two: the page, then the files
it names. As served, the page carries what the login form needs:

- the Kyrgyz catalog, as a JSON data block before ``</body>`` (``pwa/js/i18n.js`` reads it): not a script,
  so the policy has nothing to allow; every ``<`` is written ``\\u003c``, so no text can close the block;
- the first screen's modules, the bundle of ``server.pwa_bundle``, as the page's own module script, and
  ``css/app.css`` as its ``<style>``, both minified;
- a ``modulepreload`` of ``js/app.js``, the stub through which the screens loaded later share the bundle's
  modules, so that the first of them does not wait a round trip more for it.

The Content Security Policy still forbids every inline script and style but these two: the page's policy
names each by the SHA-256 of its text (``server.headers.policy_allowing``). Whatever cannot be inlined
safely (a ``</style`` in the stylesheet, a bundle the page cannot carry) keeps its link.

``server.pwa`` makes the page once, with the rest of the shell, when it builds it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from server import pwa_bundle, pwa_minify
from server.headers import policy_allowing

PAGE = "index.html"
# The catalog the page carries: a fresh device's language, Kyrgyz.
INLINE_CATALOG = "locales/ky.json"
STYLESHEET = "css/app.css"
PAGE_STYLESHEET = f'<link rel="stylesheet" href="/{STYLESHEET}">'  # in index.html: what the <style> replaces


@dataclass(frozen=True)
class Page:
    body: bytes
    policy: str | None  # the page's own Content Security Policy, when it carries a script or a style


def serve(page: bytes, site: str, built: pwa_bundle.Build | None) -> Page:
    """``page`` (index.html as on disk) as served, with ``built`` the modules as the server serves them."""
    text = page.decode("utf-8")
    catalog = os.path.join(site, INLINE_CATALOG)
    if os.path.isfile(catalog):
        text = _with_catalog(text, catalog)
    scripts: list[str] = []
    styles: list[str] = []
    if built is not None and built.page is not None:
        script = _minified(pwa_minify.minify_js, built.page)
        entry = f"/{pwa_bundle.ENTRY}"
        text = text.replace(
            pwa_bundle.PAGE_SCRIPT,
            f'<link rel="modulepreload" href="{entry}">\n  <script type="module">{script}</script>',
            1,
        )
        scripts.append(script)
        stylesheet = os.path.join(site, STYLESHEET)
        if PAGE_STYLESHEET in text and os.path.isfile(stylesheet):
            with open(stylesheet, encoding="utf-8") as file:
                style = _minified(pwa_minify.minify_css, file.read())
            if "</style" not in style.lower():
                text = text.replace(PAGE_STYLESHEET, f"<style>{style}</style>", 1)
                styles.append(style)
    policy = policy_allowing(scripts=[_hash(s) for s in scripts], styles=[_hash(s) for s in styles])
    return Page(text.encode("utf-8"), policy if scripts or styles else None)


def _with_catalog(page: str, catalog: str) -> str:
    """``page`` with the catalog as a JSON data block before ``</body>``, where ``i18n.js`` looks for it."""
    with open(catalog, encoding="utf-8") as file:
        messages = json.load(file)
    data = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    lang = PurePosixPath(catalog).stem
    if page.count("</body>") != 1:
        return page
    return page.replace("</body>", f'<script type="application/json" id="catalog-{lang}">{data}</script>\n</body>')


def _minified(minify: Callable[[str], str], source: str) -> str:
    try:
        return minify(source)
    except (pwa_minify.MinifyError, ValueError):
        return source


def _hash(text: str) -> str:
    """A CSP hash source: the SHA-256 of the element's text as UTF-8, in base64."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"
