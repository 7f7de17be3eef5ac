"""server/pwa_minify.py: the PWA's files lose comments and indentation, never meaning.

The strongest check is the last: the whole ``node --test`` suite of the PWA run on minified copies of its
modules. The browser tests run the minified (and bundled) app as the server sends it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server.pwa import PWA_DIR
from server.pwa_minify import MinifyError, minify, minify_css, minify_js, minify_json

ROOT = PWA_DIR.parent
NODE = shutil.which("node") or "node"

TRICKY = textwrap.dedent(
    r"""
    /** A doc comment. */
    const name = 'box'; // a line comment
    const url = 'http://example.invalid/a//b'; /* a block comment */ const star = "/* not a comment */";
    const nested = `outer  // kept ${`inner ${name} // kept too`}  /* kept */ ${ { a: 1 }.a }
      indented line of the template`;
    const regex = /\/\/[a-z'"`]+\/*/g;
    const klass = /[/"]/.test('"');
    const half = 10 / 2 / 1; // division, not a regex
    const ratio = (half) / 5;
    function typed(value) {
      return typeof value === 'string' ? /^x/.test(value) : value
        + 1;
    }
    let asi = 1
    /* a comment
       over lines */ ;[asi] = [2]
    console.log(JSON.stringify({ name, url, star, nested, regex: String(regex), klass, half, ratio,
      typed: [typed('xy'), typed(1)], asi }));
    """
)


def node(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (node on our own files and text)
        [NODE, *args], input=stdin, capture_output=True, text=True, timeout=600, check=False, cwd=cwd
    )


def test_comments_and_indentation_go_and_the_program_means_the_same() -> None:
    small = minify_js(TRICKY)
    assert "A doc comment" not in small and "a line comment" not in small and "a block comment" not in small
    assert "\n  " not in small.split("`outer")[0]  # indentation outside the template is gone
    assert "`outer  // kept ${`inner ${name} // kept too`}  /* kept */" in small
    assert "\n  indented line of the template`" in small  # the template's own text is untouched
    before, after = node("--input-type=module", stdin=TRICKY), node("--input-type=module", stdin=small)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert after.stdout == before.stdout
    assert len(small) < len(TRICKY) * 0.85


@pytest.mark.parametrize("source", ["const a = 'open\n';\n", "const t = `open\n", "/* open\n", "const r = /open\n"])
def test_what_the_scanner_cannot_read_is_served_as_it_is(source: str) -> None:
    with pytest.raises(MinifyError):
        minify_js(source)
    assert minify("text/javascript", source.encode()) == source.encode()


def test_css_and_json_are_minified_too() -> None:
    css = (PWA_DIR / "css/app.css").read_text(encoding="utf-8")
    small = minify_css(css)
    assert len(small) < len(css) * 0.85 and "/*" not in small
    catalog = (PWA_DIR / "locales/ky.json").read_text(encoding="utf-8")
    assert json.loads(minify_json(catalog)) == json.loads(catalog) and len(minify_json(catalog)) < len(catalog)
    assert minify("image/png", b"\x89PNG") == b"\x89PNG"


def test_the_server_sends_minified_files(client: FlaskClient) -> None:
    with client.get("/js/ui/journal.js") as response:
        body = response.get_data(as_text=True)
    source = (PWA_DIR / "js/ui/journal.js").read_text(encoding="utf-8")
    assert "/**" in source and "/**" not in body and len(body) < len(source)


def test_the_node_suite_passes_on_minified_modules(tmp_path: Path) -> None:
    """Every module of pwa/js minified, the tests and the files they read as they are, the suite run."""
    for name in ("sync", "server", "docs", "tests/js"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PWA_DIR, tmp_path / "pwa")
    shutil.copy(ROOT / "package.json", tmp_path)  # the tests' packages (fake-indexeddb), as installed
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    for module in (tmp_path / "pwa/js").rglob("*.js"):
        module.write_text(minify_js(module.read_text(encoding="utf-8")), encoding="utf-8")
    assert "/**" not in (tmp_path / "pwa/js/store.js").read_text(encoding="utf-8")
    files = sorted(str(path.relative_to(tmp_path)) for path in (tmp_path / "tests/js").glob("*.test.mjs"))
    result = node("--test", *files, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
