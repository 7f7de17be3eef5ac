"""Envelope encryption of confidential contents; the only module that imports ``cryptography``.

Each appeal (or other confidential record) has its own random AES-256-GCM data key. Every encryption
uses a fresh random 96-bit nonce, and its associated data names the school, the record and the field,
so a ciphertext moved to another row or column fails to decrypt. Data keys are stored wrapped
(AES-256-GCM again) by a master key that lives outside the database, identified by a key id so that
rotation can tell old wraps from new ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
WRAP_CONTEXT = b"ishenim/data-key/v1"
SEAL_CONTEXT = b"ishenim/field/v1"


class CryptoError(Exception):
    """Base of every error this module raises."""


class MasterKeyMissing(CryptoError):
    """No master key where the configuration says it is."""


class MasterKeyInvalid(CryptoError):
    """The master key file exists but does not hold a key."""


class UnknownKeyId(CryptoError):
    """A data key was wrapped by a master key this server does not hold."""


class UnwrapFailed(CryptoError):
    """A wrapped data key does not open with the master key: wrong key, or the row was altered."""


class DecryptionFailed(CryptoError):
    """A ciphertext does not open: altered, truncated, or moved from another record or field."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> MasterKey:
        if len(secret) != KEY_BYTES:
            raise MasterKeyInvalid(f"a master key is {KEY_BYTES} bytes, not {len(secret)}")
        # The id is derived, so a key file needs nothing but the key, and the id reveals nothing of it.
        key_id = hashlib.sha256(b"ishenim/key-id/v1" + secret).hexdigest()[:16]
        return cls(key_id=key_id, secret=secret)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_secret(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        try:
            return cls.from_secret(base64.b64decode(text.strip(), validate=True))
        except ValueError as exc:  # binascii.Error, and non-ASCII text, which b64decode refuses with ValueError
            raise MasterKeyInvalid("the master key is not base64") from exc

    def to_text(self) -> str:
        return base64.b64encode(self.secret).decode() + "\n"

    def __repr__(self) -> str:  # never print the secret
        return f"MasterKey(key_id={self.key_id!r})"


def load_master_key(path: Path) -> MasterKey:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise MasterKeyMissing(f"no master key at {path}") from exc
    try:
        return MasterKey.from_text(raw.decode("ascii"))
    except UnicodeDecodeError as exc:
        raise MasterKeyInvalid("the master key file is not base64 text") from exc


def create_master_key(path: Path) -> MasterKey:
    """Write a new master key, readable by its owner only; refuses to replace an existing file."""
    key = MasterKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.to_text())
    return key


class Keyring:
    """The master keys a server holds: the current one wraps, any of them unwraps."""

    def __init__(self, current: MasterKey, *older: MasterKey) -> None:
        self.current = current
        self._by_id = {key.key_id: key for key in (current, *older)}

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError as exc:
            raise UnknownKeyId(f"no master key with id {key_id}") from exc


def _context(prefix: bytes, *parts: str) -> bytes:
    # Length-prefixed parts, so that ("ab", "c") and ("a", "bc") can never give the same bytes.
    out = bytearray(prefix)
    for part in parts:
        raw = part.encode()
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def wrap_data_key(master: MasterKey, data_key: bytes, school: str, owner: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master.secret).encrypt(nonce, data_key, _context(WRAP_CONTEXT, school, owner))


def unwrap_data_key(master: MasterKey, wrapped: bytes, school: str, owner: str) -> bytes:
    try:
        key = AESGCM(master.secret).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _context(WRAP_CONTEXT, school, owner)
        )
    except (InvalidTag, ValueError) as exc:
        raise UnwrapFailed(f"the data key of {owner} does not open with master key {master.key_id}") from exc
    if len(key) != KEY_BYTES:
        raise UnwrapFailed(f"the data key of {owner} has the wrong length")
    return key


def seal(data_key: bytes, plaintext: bytes, school: str, owner: str, field: str) -> bytes:
    """Encrypt one field of one record: nonce (12 bytes) followed by ciphertext and tag."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, _context(SEAL_CONTEXT, school, owner, field))


def open_sealed(data_key: bytes, sealed: bytes, school: str, owner: str, field: str) -> bytes:
    if len(sealed) < NONCE_BYTES + 16:
        raise DecryptionFailed(f"{field} of {owner} is truncated")
    try:
        return AESGCM(data_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _context(SEAL_CONTEXT, school, owner, field)
        )
    except InvalidTag as exc:
        raise DecryptionFailed(f"{field} of {owner} does not decrypt") from exc


def seal_json(data_key: bytes, value: Any, school: str, owner: str, field: str) -> bytes:
    return seal(data_key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), school, owner, field)


def open_json(data_key: bytes, sealed: bytes, school: str, owner: str, field: str) -> Any:
    return json.loads(open_sealed(data_key, sealed, school, owner, field))
