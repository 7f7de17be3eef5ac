"""The journal's tamper evidence: canonical bytes of an event and the per-school SHA-256 hash chain.

Canonical JSON: keys sorted, no spaces, UTF-8, integers only (no floats) — the same bytes that
``JSON.stringify`` gives with sorted keys, so a browser can verify a chain too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical_bytes(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """SHA-256 over the previous hash (32 raw bytes) followed by the record's canonical bytes."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(record)).hexdigest()
