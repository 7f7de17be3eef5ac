"""Loads ``sync/spec.json``, the one declarative source of what the server and the tablet share.

The file is read once, at import. Each accessor checks the shape of what it hands out and raises
``SpecError`` naming the path at fault, so a malformed spec stops the server at start rather than
validating against a wrong bound later. That the Python code agrees with the spec is checked where the code
is written (``sync.events`` at import) and by ``tests/test_spec.py``; the PWA imports the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("spec.json")


class SpecError(Exception):
    """``sync/spec.json`` lacks something, holds the wrong type, or disagrees with the code written by hand."""


def _load() -> dict[str, Any]:
    document = json.loads(PATH.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise SpecError("spec.json: not an object")
    return document


SPEC: dict[str, Any] = _load()


def value(*path: str) -> Any:
    """What the spec holds at ``path`` (``value("requests", "max_pull_limit")``)."""
    found: Any = SPEC
    for depth, key in enumerate(path):
        if not isinstance(found, dict) or key not in found:
            raise SpecError(f"spec.json: no {'.'.join(path[: depth + 1])}")
        found = found[key]
    return found


def _is_int(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)


def integer(*path: str) -> int:
    found = value(*path)
    if not _is_int(found):
        raise SpecError(f"spec.json: {'.'.join(path)} is not an integer")
    result: int = found
    return result


def text(*path: str) -> str:
    found = value(*path)
    if not isinstance(found, str):
        raise SpecError(f"spec.json: {'.'.join(path)} is not a string")
    return found


def boolean(*path: str) -> bool:
    found = value(*path)
    if not isinstance(found, bool):
        raise SpecError(f"spec.json: {'.'.join(path)} is not true or false")
    return found


def strings(*path: str) -> tuple[str, ...]:
    found = value(*path)
    if not (isinstance(found, list) and all(isinstance(item, str) for item in found)):
        raise SpecError(f"spec.json: {'.'.join(path)} is not a list of strings")
    return tuple(found)


def integers(*path: str) -> tuple[int, ...]:
    found = value(*path)
    if not (isinstance(found, list) and all(_is_int(item) for item in found)):
        raise SpecError(f"spec.json: {'.'.join(path)} is not a list of integers")
    return tuple(found)


def events() -> dict[str, dict[str, Any]]:
    """Each event type's block, in protocol order."""
    found = value("events")
    if not (isinstance(found, dict) and all(isinstance(block, dict) for block in found.values())):
        raise SpecError("spec.json: events is not an object of objects")
    return found


class Limits:
    """The limits of one group of fields: an event type's data (``appeal.referred``) or a part several share
    (``applicant``, ``person``, ``settings``, ``trust_phone``, ``token_request``)."""

    def __init__(self, group: str) -> None:
        self.path = ("events", group, "limits") if group in events() else ("limits", group)
        if not isinstance(value(*self.path), dict):
            raise SpecError(f"spec.json: {'.'.join(self.path)} is not an object")

    def max_length(self, field: str) -> int:
        """The most code points the string ``field`` may hold."""
        return integer(*self.path, field)

    def bounds(self, field: str) -> tuple[int, int]:
        """The least and the most of the integer ``field``, or of the length of the list ``field``."""
        found = integers(*self.path, field)
        if len(found) != 2 or found[0] > found[1]:
            raise SpecError(f"spec.json: {'.'.join((*self.path, field))} is not [min, max]")
        return found[0], found[1]
