"""server/pwa_bundle.py: js/app.js and its static imports served as one file, the other modules importing
the bundle's instances. The browser tests run the bundled app for real; these pin the transformation."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import pwa_bundle
from server.pwa import PWA_DIR, load_shell
from server.pwa_bundle import BundleError


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


NODE = shutil.which("node") or "node"


def node(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 (node on our own files and text)
        [NODE, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_node(folder: Path, script: str) -> str:
    (folder / "run.mjs").write_text(textwrap.dedent(script), encoding="utf-8")
    return node(str(folder / "run.mjs"))


SMALL = {
    "js/app.js": """\
        import * as counter from './counter.js';
        import { greet as hello, NAME } from './ui/greet.js';
        export const started = hello(NAME) + ' ' + counter.next() + counter.next();
        export async function later() {
          return (await import('./ui/late.js')).report();
        }
    """,
    "js/counter.js": """\
        // A live binding: the namespace must show the new value after next().
        let count = 0;
        export function next() { count += 1; return count; }
        export const { current } = { current: () => count };
        export { count as value };
    """,
    "js/ui/greet.js": """\
        import { next } from '../counter.js';
        export const NAME = 'school';
        export function greet(name) { next(); return `hello ${name}`; }
        export { next as bump } from '../counter.js';
    """,
    "js/ui/late.js": """\
        import * as counter from '../counter.js';
        import { greet } from './greet.js';
        export { value } from '../counter.js';
        export function report() { return `${greet('late')} ${counter.value}`; }
    """,
}


def test_the_plan_is_the_static_graph_dependencies_first(tmp_path: Path) -> None:
    root = tree(tmp_path, SMALL)
    assert pwa_bundle.plan(root).order == ("js/counter.js", "js/ui/greet.js", "js/app.js")


def test_bundled_and_lazy_modules_share_one_instance_with_live_bindings(tmp_path: Path) -> None:
    """Served as the server serves them, the lazy module sees the counter the bundle advanced."""
    root = tree(tmp_path, SMALL)
    plan = pwa_bundle.plan(root)
    served = tmp_path / "served"
    (served / "js/ui").mkdir(parents=True)
    (served / "js/app.js").write_text(pwa_bundle.bundle(root, plan), encoding="utf-8")
    late = pwa_bundle.rewrite("js/ui/late.js", (root / "js/ui/late.js").read_text(), plan)
    assert "from '../app.js'" in late and "from '../counter.js'" not in late
    (served / "js/ui/late.js").write_text(late, encoding="utf-8")
    (served / "package.json").write_text('{"type": "module"}')
    out = run_node(
        served,
        """\
        import * as app from './js/app.js';
        console.log(app.__bundle_js_counter.value, app.started);
        console.log(await app.later());
        console.log(app.__bundle_js_ui_greet.bump(), app.__bundle_js_counter.current());
        """,
    )
    # 'hello school' after three next() calls: greet's own and the two in app.js; the lazy module's greet()
    # advances the very same counter (4), and bump is counter's next (5).
    assert out.splitlines() == ["3 hello school 23", "hello late 4", "5 5"]


def test_a_module_loaded_later_reads_a_json_module_on_its_own_url(tmp_path: Path) -> None:
    """As js/vocabulary.js reads sync/spec.json: the import stays, the bundled ones come from the bundle."""
    late = """\
        import words from '../words.json' with { type: 'json' };
        import * as counter from '../counter.js';
        export function report() { return `${words.greeting} ${counter.value}`; }
    """
    root = tree(tmp_path, {**SMALL, "js/ui/late.js": late, "js/words.json": '{"greeting": "salam"}'})
    plan = pwa_bundle.plan(root)
    assert "js/words.json" not in plan.members
    rewritten = pwa_bundle.rewrite("js/ui/late.js", (root / "js/ui/late.js").read_text(), plan)
    assert "import words from '../words.json' with { type: 'json' };" in rewritten
    assert "from '../counter.js'" not in rewritten
    served = tmp_path / "served"
    (served / "js/ui").mkdir(parents=True)
    (served / "js/app.js").write_text(pwa_bundle.bundle(root, plan), encoding="utf-8")
    (served / "js/ui/late.js").write_text(rewritten, encoding="utf-8")
    shutil.copy(root / "js/words.json", served / "js/words.json")
    (served / "package.json").write_text('{"type": "module"}')
    out = run_node(served, "import * as app from './js/app.js';\nconsole.log(await app.later());\n")
    assert out.splitlines() == ["salam 3"]  # the three next() of the bundle's start, seen from the late module


def test_a_json_module_in_the_boot_graph_is_refused(tmp_path: Path) -> None:
    """The bundle carries no JSON: the login screen's modules import none."""
    root = tree(
        tmp_path,
        {
            "js/app.js": "import { a } from './a.js';\n",
            "js/a.js": "import words from './words.json' with { type: 'json' };\nexport const a = words;\n",
            "js/words.json": "{}",
        },
    )
    with pytest.raises(BundleError, match=r"js/a\.js: imports the JSON module js/words\.json"):
        pwa_bundle.plan(root)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("export let x = 1;\n", "unsupported statement"),
        ("export default function f() {}\n", "unsupported statement"),
        ("export * from './b.js';\n", "unsupported statement"),
        ("import x from './b.js';\n", "unsupported import"),
        ("import './b.js';\n", "unsupported statement"),
        ("export const { a: b } = {};\n", "plain names"),
    ],
)
def test_syntax_outside_the_subset_is_refused(tmp_path: Path, source: str, message: str) -> None:
    """In a bundled module; the entry keeps its own exports as they are (it is the bundle's top level)."""
    root = tree(
        tmp_path,
        {
            "js/app.js": "import * as a from './a.js';\nexport let kept = a;\n",
            "js/a.js": source,
            "js/b.js": "export const a = 1;\n",
        },
    )
    with pytest.raises(BundleError, match=message):
        pwa_bundle.bundle(root, pwa_bundle.Plan(("js/b.js", "js/a.js", "js/app.js")))


def test_a_cycle_or_a_missing_module_is_refused(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "js/app.js": "import { a } from './a.js';\n",
            "js/a.js": "import { b } from './b.js';\nexport const a = 1;\n",
            "js/b.js": "import { a } from './a.js';\nexport const b = 2;\n",
        },
    )
    with pytest.raises(BundleError, match=r"cycle.*a\.js -> js/b\.js -> js/a\.js"):
        pwa_bundle.plan(root)
    (root / "js/b.js").write_text("import { c } from './gone.js';\nexport const b = 2;\n")
    with pytest.raises(BundleError, match=r"missing js/gone\.js"):
        pwa_bundle.plan(root)


def test_import_meta_outside_the_entrys_folder_is_refused(tmp_path: Path) -> None:
    """import.meta.url and import() would resolve against the bundle's URL, not the module's."""
    root = tree(
        tmp_path,
        {"js/app.js": "import { u } from './ui/x.js';\n", "js/ui/x.js": "export const u = import.meta.url;\n"},
    )
    with pytest.raises(BundleError, match=r"import\.meta"):
        pwa_bundle.bundle(root, pwa_bundle.plan(root))


def test_the_real_app_bundles_and_parses() -> None:
    """The PWA's own modules: the plan is app.js's static graph, and the bundle is valid JavaScript."""
    plan = pwa_bundle.plan(PWA_DIR)
    assert plan.order[-1] == "js/app.js" and "js/ui/login.js" in plan.members
    assert "js/store.js" not in plan.members and "js/ui/journal.js" not in plan.members  # loaded with import()
    built = pwa_bundle.build(PWA_DIR)
    assert built.page is not None  # the page carries the bundle, and js/app.js is the stub
    node("--check", "--input-type=module", stdin=built.page)
    node("--check", "--input-type=module", stdin=built.modules["js/app.js"])
    # Written against the entry's address: an inline script's own would be the page's.
    assert "import.meta" not in built.page and "import('./" not in built.page and "import('/js/store.js')" in built.page
    for path in PWA_DIR.glob("js/**/*.js"):
        module = path.relative_to(PWA_DIR).as_posix()
        if module in plan.members:
            continue
        text = built.modules.get(module, path.read_text(encoding="utf-8"))
        node("--check", "--input-type=module", stdin=text)
        # No module outside the bundle may load a second copy of one inside it.
        loaded = {pwa_bundle.resolve(module, spec) for spec in re.findall(r"\bfrom '([^']+)'", text)}
        assert not loaded & (plan.members - {"js/app.js"}), module


def test_the_server_serves_the_bundle_and_the_rewritten_modules(
    app: Flask, client: FlaskClient, served_pwa: Path
) -> None:
    shell = served_pwa
    page = client.get("/")
    assert b"const __bundle_js_ui_login = " in page.data and b'<script type="module" src=' not in page.data
    assert b'<link rel="modulepreload" href="/js/app.js">' in page.data
    # js/app.js hands the page's modules to those loaded later, the same instances.
    stub = client.get("/js/app.js").data.decode()
    assert "export const __bundle_js_api = __boot.__bundle_js_api" in stub and "function" not in stub
    journal = client.get("/js/ui/journal.js").data.decode()
    assert "from '../app.js'" in journal and "from '../dom.js'" not in journal
    # A bundled module on its own URL is its source (minified), for the service worker's precache only.
    assert b"export function h(" in client.get("/js/dom.js").data

    # A change to any module is a new page: its ETag follows every module, not app.js alone.
    etag = page.headers["ETag"]
    login = shell / "js/ui/login.js"
    login.write_text(login.read_text() + "\nexport const ADDED_FOR_THE_TEST = 1;\n")
    load_shell(app)
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and b"ADDED_FOR_THE_TEST" in again.data


def test_a_tree_that_cannot_be_bundled_is_served_as_it_is(app: Flask, client: FlaskClient, served_pwa: Path) -> None:
    shell = served_pwa
    member = shell / "js/dom.js"
    member.write_text(member.read_text() + "\nexport default 1;\n")
    load_shell(app)
    served = client.get("/js/app.js").data
    assert b"__bundle_" not in served and b"from './router.js'" in served.replace(b'"', b"'")
    page = client.get("/")
    assert b'<script type="module" src="/js/app.js"></script>' in page.data and b"__bundle_" not in page.data
    assert "sha256" not in page.headers["Content-Security-Policy"]  # nothing inline, nothing allowed
    assert b"from '../dom.js'" in client.get("/js/ui/journal.js").data.replace(b'"', b"'")
