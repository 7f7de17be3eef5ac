"""Fewer bytes for the PWA's files, done by the server once, when it builds the shell (no build step of its own).

JavaScript: comments, indentation, trailing spaces and blank lines go; every other character, and every
line break between two pieces of code, stays, so automatic semicolon insertion reads the code exactly as
before and an error's line still points at the same statement. Gzip already squeezes repeated spaces; the
comments (this codebase documents a lot) are most of the gain: the first screen's bundle goes from about
28 to 17 KB gzipped. A small scanner of our own rather than rjsmin: rjsmin 1.3 cuts a template literal
nested in another's ``${…}`` (it takes its ``//`` for a comment), which this code may well write one day.

The scanner knows strings, template literals with nested ``${…}``, regular expression literals (a ``/``
where a value may begin: after an operator, a bracket, a comma, a keyword such as ``return``; after a
name, a number or a closing bracket it divides), and both kinds of comments. Where it cannot tell (an
unterminated string, say) it raises ``MinifyError`` and the caller serves the file as it is.
tests/test_pwa_minify.py runs the whole ``node --test`` suite on minified copies of the modules.

CSS goes through ``rcssmin`` (pinned in requirements.txt), JSON through ``json`` without indentation.
"""

from __future__ import annotations

import json

import rcssmin  # type: ignore[import-untyped]  # no stubs; cssmin(str) -> str

# After these words a "/" starts a regular expression, not a division.
_REGEX_AFTER_WORDS = frozenset(
    {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else"}
    | {"yield", "await"}
)


class MinifyError(ValueError):
    """The scanner lost its way: serve the file unminified."""


def _word_before(out: list[str]) -> str:
    """The name or keyword that ends the output (the last 40 pieces are plenty for any keyword)."""
    text = "".join(out[-40:]).rstrip()
    start = len(text)
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_$"):
        start -= 1
    return text[start:]


def _regex_may_start(out: list[str]) -> bool:
    """Whether a "/" here begins a regular expression, judged by the last significant character out."""
    for chunk in reversed(out):
        stripped = chunk.rstrip()
        if stripped:
            last = stripped[-1]
            break
    else:
        return True
    if last.isalnum() or last in "_$":
        return _word_before(out) in _REGEX_AFTER_WORDS
    return last not in ")]}'\"`"


def minify_js(source: str) -> str:
    """``source`` without comments, indentation and blank lines (see the module's docstring)."""
    out: list[str] = []
    length = len(source)
    i = 0
    # Template literals being read: for each, how many "{" are open in its current ${…} (None: in its text).
    templates: list[int | None] = []
    at_line_start = True

    def emit(text: str) -> None:
        out.append(text)

    while i < length:
        char = source[i]
        in_template_text = bool(templates) and templates[-1] is None
        if in_template_text:
            # Inside a template's text: everything verbatim up to its end or the next ${.
            if char == "\\":
                emit(source[i : i + 2])
                i += 2
            elif char == "`":
                emit(char)
                templates.pop()
                i += 1
            elif char == "$" and source.startswith("${", i):
                emit("${")
                templates[-1] = 0
                i += 2
            else:
                emit(char)
                i += 1
            at_line_start = False
            continue
        if char == "\n":
            # Drop trailing spaces and keep the break unless the line is empty.
            while out and out[-1] in (" ", "\t"):
                out.pop()
            if out and out[-1] != "\n":
                emit("\n")
            at_line_start = True
            i += 1
            continue
        if char in " \t\r":
            if not at_line_start and char != "\r" and out and out[-1] != " ":
                emit(" ")  # one space keeps two words apart; more say nothing
            i += 1
            continue
        at_line_start = False
        if char == "/" and source.startswith("//", i):
            end = source.find("\n", i)
            i = length if end < 0 else end
            continue
        if char == "/" and source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise MinifyError("an unterminated comment")
            comment = source[i : end + 2]
            # A comment with a line break is a line break for automatic semicolon insertion.
            emit("\n" if "\n" in comment else " ")
            i = end + 2
            continue
        if char in "'\"":
            end = i + 1
            while end < length and source[end] != char:
                if source[end] == "\\":
                    end += 1
                elif source[end] == "\n":
                    raise MinifyError("an unterminated string")
                end += 1
            if end >= length:
                raise MinifyError("an unterminated string")
            emit(source[i : end + 1])
            i = end + 1
            continue
        if char == "`":
            emit(char)
            templates.append(None)
            i += 1
            continue
        if templates and char == "{":
            templates[-1] = (templates[-1] or 0) + 1
        elif templates and char == "}":
            depth = templates[-1] or 0
            if depth == 0:
                templates[-1] = None  # the end of a ${…}: back in the template's text
                emit(char)
                i += 1
                continue
            templates[-1] = depth - 1
        if char == "/" and _regex_may_start(out):
            end = i + 1
            in_class = False
            while end < length:
                current = source[end]
                if current == "\\":
                    end += 2
                    continue
                if current == "\n":
                    raise MinifyError("an unterminated regular expression")
                if current == "[":
                    in_class = True
                elif current == "]":
                    in_class = False
                elif current == "/" and not in_class:
                    break
                end += 1
            if end >= length:
                raise MinifyError("an unterminated regular expression")
            emit(source[i : end + 1])
            i = end + 1
            continue
        emit(char)
        i += 1
    if templates:
        raise MinifyError("an unterminated template literal")
    text = "".join(out).strip()
    return text + "\n" if text else ""


def minify_css(source: str) -> str:
    return str(rcssmin.cssmin(source))


def minify_json(source: str) -> str:
    return json.dumps(json.loads(source), ensure_ascii=False, separators=(",", ":"))


def minify(mimetype: str, body: bytes) -> bytes:
    """``body`` minified for its type, or as it is when the type has no minifier or the scanner gave up."""
    try:
        if mimetype in ("text/javascript", "application/javascript"):
            return minify_js(body.decode("utf-8")).encode("utf-8")
        if mimetype == "text/css":
            return minify_css(body.decode("utf-8")).encode("utf-8")
        if mimetype in ("application/json", "application/manifest+json"):
            return minify_json(body.decode("utf-8")).encode("utf-8")
    except (MinifyError, UnicodeDecodeError, ValueError):
        return body
    return body
