"""Bundles ``js/app.js`` and the modules it imports statically into ONE script: the first screen in one request.

Why: on Slow 3G every request costs a 2 s round trip, and over HTTP/1.1 a browser opens six connections
per host, so the first screen's fourteen modules took three waves of round trips even when announced with
``modulepreload``. The app stays build-free for its developers (plain ES modules in ``pwa/js``, run as they
are by ``node --test``); the server bundles once, when it builds the shell (``server.pwa``).

The bundle: every module of the boot graph, dependencies first, each wrapped in a function of its own (its
names stay its own) that returns a frozen namespace of getters, so ``import * as x`` keeps live bindings
(then the entry itself, at the top level, its own exports as they are):

    const __bundle_js_dom = (() => { …dom.js without its import/export keywords…
      return Object.freeze({ __proto__: null, get h() { return h; }, … }); })();

and ``export { __bundle_js_dom, … }`` at its end (``bundle``, served as ``js/app.js`` when the page cannot carry
it), so that the modules loaded later with ``import()`` share
the very same instances (``i18n.js`` holds the catalog, ``vault.js`` the key): when served, their imports
of a bundled module are rewritten to import the namespace from ``app.js``. A bundled module served on its
own URL is its plain source (the service worker precaches it; the browser never imports it).

The page carries the bundle inline (``inline``, put into ``index.html`` by ``server.pwa_page``), so a fresh device's
login form needs one round trip, not two. There its ``import()`` and ``import.meta.url`` would resolve
against the page's address, so they are written against the entry's (``/js/app.js``), and the namespaces
are handed over on ``globalThis.__ishenimBoot``: ``js/app.js`` is then served as a stub that exports them
from there, for the modules loaded later (an inline module cannot be imported by URL):

    const __boot = globalThis.__ishenimBoot;
    export const __bundle_js_dom = __boot.__bundle_js_dom, …;

Only this codebase's subset of the syntax is understood, at the start of a line: ``import * as x from``,
``import { a, b as c } from``, ``export function|async function|class|const name``, ``export const { a,
b } =``, ``export { a, b as c }`` and ``export { a } from``. Anything else (``export let``, ``export
default``, ``export *``, a default or side-effect import, a cycle in the boot graph) raises
``BundleError``: tests/test_pwa_bundle.py builds the bundle of the real tree, so that fails the tests,
and a server that meets it anyway serves every module unbundled (slower, still correct).

A JSON module (``import spec from './spec.json' with { type: 'json' };``, how ``js/vocabulary.js`` reads
``sync/spec.json``) is understood in the modules loaded later: the browser fetches it on its own URL, which
the service worker precaches like any file of the shell. The bundle carries none: one imported in the boot
graph raises ``BundleError`` (the login screen needs no vocabulary of the journal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ENTRY = "js/app.js"

_IMPORT = re.compile(r"^import\s+(?P<clause>[^;]*?)\s+from\s+'(?P<spec>[^']+)';[ \t]*$", re.M | re.S)
_JSON_IMPORT = re.compile(
    r"^import\s+[A-Za-z_$][\w$]*\s+from\s+'(?P<spec>[^']+\.json)'\s+with\s*\{\s*type:\s*'json'\s*\};[ \t]*$", re.M
)
_REEXPORT = re.compile(r"^export\s+\{(?P<names>[^}]*)\}\s+from\s+'(?P<spec>[^']+)';[ \t]*$", re.M)
_EXPORT_LIST = re.compile(r"^export\s+\{(?P<names>[^}]*)\};[ \t]*$", re.M)
_EXPORT_DECL = re.compile(r"^export\s+(?P<kind>async\s+function\*?|function\*?|class|const)\s+(?P<rest>[^\n]*)", re.M)
_STATEMENT_START = re.compile(r"^(?:import|export)\b(?!\s*\()", re.M)
_NAME = re.compile(r"[A-Za-z_$][\w$]*")


PAGE_SCRIPT = f'<script type="module" src="/{ENTRY}"></script>'  # in index.html: what the inline bundle replaces
_ENDS_SCRIPT = re.compile(r"</script|<!--", re.I)
BOOT = "__ishenimBoot"  # the global that hands the inline bundle's namespaces to the stub
_DYNAMIC_IMPORT = re.compile(r"\bimport\(\s*'(?P<spec>\.\.?/[^']+)'\s*\)")
_ANY_DYNAMIC_IMPORT = re.compile(r"\bimport\s*\((?!\s*\))")  # not "import()", which only a comment writes


class BundleError(Exception):
    """A module uses syntax the bundler does not understand, or the boot graph has a cycle."""


@dataclass(frozen=True)
class Plan:
    """Which modules the bundle carries, in evaluation order (dependencies first; the entry last)."""

    order: tuple[str, ...]  # site paths relative to the pwa folder, e.g. "js/ui/login.js"

    @property
    def members(self) -> frozenset[str]:
        return frozenset(self.order)


def variable(module: str) -> str:
    """The bundle's name for a module's namespace: ``js/ui/login.js`` -> ``__bundle_js_ui_login``."""
    return "__bundle_" + re.sub(r"[^A-Za-z0-9]", "_", module.removesuffix(".js"))


def resolve(module: str, spec: str) -> str:
    """A relative specifier of ``module`` as a site path (``js/ui/x.js`` + ``../dom.js`` -> ``js/dom.js``)."""
    if not spec.startswith(("./", "../")):
        raise BundleError(f"{module}: only relative imports are bundled")
    parts: list[str] = []
    for part in (PurePosixPath(module).parent / spec).parts:
        if part == "..":
            if not parts:
                raise BundleError(f"{module}: an import leaves the site")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _specifier(from_module: str, to_module: str) -> str:
    """A relative specifier from one site path to another (``js/ui/x.js`` -> ``js/app.js`` = ``../app.js``)."""
    here = PurePosixPath(from_module).parent.parts
    there = PurePosixPath(to_module).parts
    common = 0
    while common < min(len(here), len(there) - 1) and here[common] == there[common]:
        common += 1
    up = len(here) - common
    return ("../" * up or "./") + "/".join(there[common:])


def _pairs(names: str, where: str) -> list[tuple[str, str]]:
    """``a, b as c`` -> [(a, a), (b, c)]: (the exporter's name, the local name)."""
    pairs = []
    for item in (part.strip() for part in names.split(",")):
        if not item:
            continue
        match = re.fullmatch(r"([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?", item)
        if match is None:
            raise BundleError(f"{where}: cannot read the name list {names.strip()!r}")
        pairs.append((match.group(1), match.group(2) or match.group(1)))
    return pairs


def imports(module: str, source: str) -> list[str]:
    """The site paths ``module`` imports statically (``import … from``, ``export … from``, JSON modules)."""
    found = [resolve(module, match["spec"]) for match in _IMPORT.finditer(source)]
    found += [resolve(module, match["spec"]) for match in _REEXPORT.finditer(source)]
    found += [resolve(module, match["spec"]) for match in _JSON_IMPORT.finditer(source)]
    return found


def plan(root: Path) -> Plan:
    """The entry and its static import graph, dependencies first; a cycle raises ``BundleError``."""
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" | "done"

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if state.get(module) == "done":
            return
        if state.get(module) == "visiting":
            raise BundleError("a cycle in the boot graph: " + " -> ".join((*trail, module)))
        if module.endswith(".json"):
            raise BundleError(f"{trail[-1]}: imports the JSON module {module}, which the bundle does not carry")
        state[module] = "visiting"
        path = root / module
        if not path.is_file():
            raise BundleError(f"{trail[-1] if trail else module}: imports a missing {module}")
        for dependency in imports(module, path.read_text(encoding="utf-8")):
            visit(dependency, (*trail, module))
        state[module] = "done"
        order.append(module)

    visit(ENTRY, ())
    return Plan(tuple(order))


def _imports_from_bundle(module: str, source: str) -> str:
    """``source`` with each static import taken from the namespace variable of a module in the bundle."""

    def replace_import(match: re.Match[str]) -> str:
        target = variable(resolve(module, match["spec"]))
        clause = match["clause"].strip()
        namespace = re.fullmatch(r"\*\s+as\s+([A-Za-z_$][\w$]*)", clause)
        if namespace:
            return f"const {namespace.group(1)} = {target};"
        if clause.startswith("{") and clause.endswith("}"):
            pairs = _pairs(clause[1:-1], module)
            inner = ", ".join(name if name == local else f"{name}: {local}" for name, local in pairs)
            return f"const {{ {inner} }} = {target};"
        raise BundleError(f"{module}: unsupported import {clause!r}")

    return _IMPORT.sub(replace_import, source)


def _entry(source: str) -> str:
    """The entry at the bundle's top level: its imports from the namespaces, its own exports as they are."""
    if _REEXPORT.search(source):
        raise BundleError(f"{ENTRY}: a re-export in the entry")
    body = _imports_from_bundle(ENTRY, source)
    left = re.search(r"^import\b(?!\s*[(.])", body, re.M)
    if left is not None:
        line = body[left.start() : body.find("\n", left.start())]
        raise BundleError(f"{ENTRY}: unsupported statement {line[:60]!r}")
    return f"// ---- {ENTRY}\n{body.rstrip()}\n"


def _wrap(module: str, source: str) -> str:
    """One bundled module: its body in a function returning its namespace of getters."""
    if PurePosixPath(module).parent != PurePosixPath(ENTRY).parent and re.search(r"\bimport\s*(?:\(|\.meta)", source):
        # import() and import.meta resolve against the bundle's URL, which is the entry's folder.
        raise BundleError(f"{module}: import() or import.meta outside the entry's folder")
    getters: list[tuple[str, str]] = []  # (exported name, expression)
    body = source

    def replace_reexport(match: re.Match[str]) -> str:
        target = variable(resolve(module, match["spec"]))
        for name, exported in _pairs(match["names"], module):
            getters.append((exported, f"{target}.{name}"))
        return ""

    def replace_list(match: re.Match[str]) -> str:
        for name, exported in _pairs(match["names"], module):
            getters.append((exported, name))
        return ""

    body = _REEXPORT.sub(replace_reexport, body)
    body = _EXPORT_LIST.sub(replace_list, body)
    body = _imports_from_bundle(module, body)

    def replace_declaration(match: re.Match[str]) -> str:
        kind, rest = match["kind"], match["rest"]
        if kind == "const" and rest.startswith("{"):
            closing = match.string.find("}", match.start("rest"))
            names = match.string[match.start("rest") + 1 : closing]
            if re.search(r"[:.{=]", names):
                raise BundleError(f"{module}: only plain names in an exported destructuring")
            getters.extend((name, name) for name, _ in _pairs(names, module))
        else:
            name = _NAME.match(rest)
            if name is None:
                raise BundleError(f"{module}: cannot read the exported name in {rest[:40]!r}")
            getters.append((name.group(0), name.group(0)))
        return f"{kind} {rest}"

    body = _EXPORT_DECL.sub(replace_declaration, body)
    left = _STATEMENT_START.search(body)
    if left is not None:
        line = body[left.start() : body.find("\n", left.start())]
        raise BundleError(f"{module}: unsupported statement {line[:60]!r}")
    namespace = ", ".join(f"get {name}() {{ return {expression}; }}" for name, expression in getters)
    return (
        f"// ---- {module}\n"
        f"const {variable(module)} = (() => {{\n{body.rstrip()}\n"
        f"return Object.freeze({{ __proto__: null, {namespace} }});\n}})();\n"
    )


def _namespaces(the_plan: Plan) -> list[str]:
    return [variable(module) for module in the_plan.order if module != ENTRY]


def _modules_then_entry(root: Path, the_plan: Plan) -> tuple[str, str]:
    """The wrapped modules of the bundle, dependencies first, and the entry at the top level."""
    def source(module: str) -> str:
        return (root / module).read_text(encoding="utf-8")

    return "".join(_wrap(module, source(module)) for module in the_plan.order if module != ENTRY), _entry(source(ENTRY))


def bundle(root: Path, the_plan: Plan) -> str:
    """The text served as ``js/app.js`` when the page does not carry it inline."""
    modules, entry = _modules_then_entry(root, the_plan)
    return (
        "// Served by server/pwa_bundle.py: js/app.js and the modules it imports, in one file (see there).\n"
        f"{modules}{entry}export {{ {', '.join(_namespaces(the_plan))} }};\n"
    )


def inline(root: Path, the_plan: Plan) -> str:
    """The bundle as the page's own module script: the namespaces on ``globalThis`` before the entry runs,
    every ``import()`` and ``import.meta.url`` written against the entry's address."""
    modules, entry = _modules_then_entry(root, the_plan)
    text = (
        "// server/pwa_bundle.py: js/app.js and the modules it imports, inline in the page (see there).\n"
        f"const __bundle_url = new URL('/{ENTRY}', location.href).href;\n{modules}"
        f"globalThis.{BOOT} = Object.freeze({{ __proto__: null, {', '.join(_namespaces(the_plan))} }});\n{entry}"
    )
    literal = _DYNAMIC_IMPORT.sub(lambda match: f"import('/{resolve(ENTRY, match['spec'])}')", text)
    if len(_ANY_DYNAMIC_IMPORT.findall(literal)) != len(_DYNAMIC_IMPORT.findall(text)):
        raise BundleError(f"{ENTRY}: an import() of anything but a relative string cannot be inlined")
    return literal.replace("import.meta.url", "__bundle_url")


def stub(the_plan: Plan) -> str:
    """``js/app.js`` when the page carries the bundle inline: its namespaces, for the modules loaded later."""
    names = _namespaces(the_plan)
    exported = ", ".join(f"{name} = __boot.{name}" for name in names)
    return (
        "// Served by server/pwa_bundle.py: the page carries js/app.js and its imports inline (see there).\n"
        f"const __boot = globalThis.{BOOT};\nexport const {exported};\n"
    )


def rewrite(module: str, source: str, the_plan: Plan) -> str:
    """A module outside the bundle, its imports of bundled modules taken from the bundle's namespaces (its
    imports of JSON modules, never bundled, stay as they are)."""
    members = the_plan.members
    entry = _specifier(module, ENTRY)
    counter = 0

    def alias() -> str:
        nonlocal counter
        counter += 1
        return f"__bundled_{counter}"

    def replace_import(match: re.Match[str]) -> str:
        target = resolve(module, match["spec"])
        if target not in members:
            return match.group(0)
        clause = match["clause"].strip()
        namespace = re.fullmatch(r"\*\s+as\s+([A-Za-z_$][\w$]*)", clause)
        if namespace:
            return f"import {{ {variable(target)} as {namespace.group(1)} }} from '{entry}';"
        if clause.startswith("{") and clause.endswith("}"):
            local = alias()
            pairs = _pairs(clause[1:-1], module)
            inner = ", ".join(name if name == own else f"{name}: {own}" for name, own in pairs)
            return f"import {{ {variable(target)} as {local} }} from '{entry}'; const {{ {inner} }} = {local};"
        raise BundleError(f"{module}: unsupported import {clause!r}")

    def replace_reexport(match: re.Match[str]) -> str:
        target = resolve(module, match["spec"])
        if target not in members:
            return match.group(0)
        local = alias()
        pairs = _pairs(match["names"], module)
        inner = ", ".join(name if name == exported else f"{name}: {exported}" for name, exported in pairs)
        return f"import {{ {variable(target)} as {local} }} from '{entry}'; export const {{ {inner} }} = {local};"

    return _IMPORT.sub(replace_import, _REEXPORT.sub(replace_reexport, source))


@dataclass(frozen=True)
class Build:
    """What the server serves of the modules: ``modules``, each module under ``js/`` that is served changed;
    ``page``, the bundle for the page to carry inline, or None when ``js/app.js`` is the bundle itself."""

    modules: dict[str, str]
    page: str | None


def build(root: Path) -> Build:
    """The entry (the stub of the inline bundle, or the bundle) and each module outside the bundle that
    imports one inside it. Raises ``BundleError`` for any module it cannot handle.

    The bundle goes inline when the page loads the entry with ``PAGE_SCRIPT`` and nothing in the bundle
    could end the script element early (``</script``, ``<!--``); otherwise ``js/app.js`` is the bundle."""
    the_plan = plan(root)
    inline_text = inline(root, the_plan)
    index = root / "index.html"
    carried = index.is_file() and PAGE_SCRIPT in index.read_text(encoding="utf-8")
    page = inline_text if carried and not _ENDS_SCRIPT.search(inline_text) else None
    served = {ENTRY: stub(the_plan) if page is not None else bundle(root, the_plan)}
    for path in sorted((root / "js").rglob("*.js")):
        module = path.relative_to(root).as_posix()
        if module not in the_plan.members:
            source = path.read_text(encoding="utf-8")
            rewritten = rewrite(module, source, the_plan)
            if rewritten != source:
                served[module] = rewritten
    return Build(served, page)
