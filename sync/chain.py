"""The journal's tamper evidence: canonical bytes of an event and the per-school SHA-256 hash chain.

Canonical JSON: keys sorted, no spaces, UTF-8, integers only (no floats) — the same bytes that
``JSON.stringify`` gives with sorted keys, so a browser can verify a chain too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sync.events import MAX_SAFE_INTEGER

GENESIS = "0" * 64


def _check_portable(value: Any) -> None:
    """Refuse what Python and JavaScript would write differently: floats and integers past 2^53 - 1."""
    if isinstance(value, float):
        raise ValueError("canonical records hold no floats")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("canonical records hold integers up to 2^53 - 1")
    if isinstance(value, dict):
        for item in value.values():
            _check_portable(item)
    elif isinstance(value, list):
        for item in value:
            _check_portable(item)


def canonical_bytes(record: dict[str, Any]) -> bytes:
    _check_portable(record)
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """SHA-256 over the previous hash (32 raw bytes) followed by the record's canonical bytes."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(record)).hexdigest()
