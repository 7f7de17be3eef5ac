"""Envelope encryption of confidential contents; the only module that imports ``cryptography``.

Each appeal (or other confidential record) has its own random AES-256-GCM data key. Every encryption
uses a fresh random 96-bit nonce, and its associated data names the school, the record and the field,
so a ciphertext moved to another row or column fails to decrypt. Data keys are stored wrapped
(AES-256-GCM again) by a master key that lives outside the database, identified by a key id so that
rotation can tell old wraps from new ones.

Backups are sealed for a *backup key*, not the master key (see ``BackupSealer``): an X25519 key pair whose
private half the key custodian keeps offline, so the server can make backups it cannot read back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
    write_secret_file(path, key.to_text())
    return key


def write_secret_file(path: Path, text: str, replace: bool = False) -> None:
    """Create ``path`` owner-only (0600 whatever the umask) and durably; never replaces an existing file
    unless told to (``replace``, for a public key only).

    The text is written to a temporary name and then linked into place, so a reader (a running app that
    reloads its keys) sees either no file or the whole key, never an empty or half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:  # the cheap answer; os.link below is the race-free one
        raise FileExistsError(f"{path} exists")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the file appeared meanwhile: never replaces a key
    finally:
        temporary.unlink(missing_ok=True)
    sync_directory(path.parent)


def sync_directory(path: Path) -> None:
    """fsync a directory, so that a file created or renamed in it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


RECEIPT_CONTEXT = b"ishenim/receipt-code/v1"


def receipt_digest(index_key: bytes, code: str) -> str:
    """A receipt code's keyed digest (HMAC-SHA256 under the school's index key, hex): equal codes give
    equal digests, and without the key a digest tells nothing of its code (there are only 32^6 codes, so
    an unkeyed hash would be reversed by trying them all)."""
    return hmac.new(index_key, RECEIPT_CONTEXT + code.encode(), hashlib.sha256).hexdigest()


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


# --- Backups: sealed for the backup key, an X25519 pair whose private half stays offline -----------------
#
# The server holds only the public half, so a stolen server (or a stolen backup) gives nothing that opens
# a backup, and the master key is not needed to make one. Each file gets a fresh ephemeral X25519 key and
# a random salt; HKDF-SHA256 over the shared secret, bound to the whole header, gives one AES-256-GCM key
# used for nothing else. The stream is cut into chunks (the STREAM construction of Hoang, Reyhanitabar,
# Rogaway and Vizár): chunk i is sealed with the nonce and associated data ``i ‖ final``, and only the last
# chunk carries final = 1, so a reordered, dropped, duplicated or truncated chunk, or bytes appended after
# the end, fail to open. The chunk length prefix is not authenticated on its own; a changed length cuts a
# chunk in the wrong place and its tag fails.
#
# File: MAGIC (15) | version (1) | recipient key id (8) | ephemeral public key (32) | salt (32) |
#       chunk size (4, big-endian) | then per chunk: ciphertext length (4, big-endian) | ciphertext + tag.

BACKUP_MAGIC = b"ishenim-backup\x00"
BACKUP_VERSION = 1
BACKUP_CHUNK_BYTES = 1 << 20  # 1 MiB: memory stays small, and the tag overhead is 16 bytes per MiB
BACKUP_HEADER_BYTES = 15 + 1 + 8 + 32 + 32 + 4
BACKUP_CONTEXT = b"ishenim/backup/v1"
_TAG_BYTES = 16
_PUBLIC_PREFIX = "ishenim-backup-public-v1:"
_PRIVATE_PREFIX = "ishenim-backup-private-v1:"


class BackupKeyInvalid(CryptoError):
    """A backup key file or text does not hold a backup key of the expected kind."""


class BackupWrongKey(CryptoError):
    """The backup was sealed for another backup key."""


class BackupCorrupt(CryptoError):
    """The backup file is not a backup, or was altered, truncated or extended: nothing of it is to be trusted."""


def _backup_key_id(public: bytes) -> str:
    return hashlib.sha256(b"ishenim/backup-key-id/v1" + public).hexdigest()[:16]


def _decode_key_text(text: str, prefix: str, what: str) -> bytes:
    text = text.strip()
    if not text.startswith(prefix):
        other = _PRIVATE_PREFIX if prefix == _PUBLIC_PREFIX else _PUBLIC_PREFIX
        hint = " (it is the other half of the pair)" if text.startswith(other) else ""
        raise BackupKeyInvalid(f"this is not a backup {what} key{hint}")
    try:
        raw = base64.b64decode(text[len(prefix) :], validate=True)
    except ValueError as exc:
        raise BackupKeyInvalid(f"the backup {what} key is not base64") from exc
    if len(raw) != KEY_BYTES:
        raise BackupKeyInvalid(f"a backup {what} key is {KEY_BYTES} bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True)
class BackupPublicKey:
    """What the server holds: enough to seal a backup, nothing to open one."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return _backup_key_id(self.raw)

    @classmethod
    def from_text(cls, text: str) -> BackupPublicKey:
        return cls(_decode_key_text(text, _PUBLIC_PREFIX, "public"))

    def to_text(self) -> str:
        return _PUBLIC_PREFIX + base64.b64encode(self.raw).decode() + "\n"


@dataclass(frozen=True)
class BackupPrivateKey:
    """What the key custodian keeps offline; needed only to restore."""

    raw: bytes

    @classmethod
    def generate(cls) -> BackupPrivateKey:
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_text(cls, text: str) -> BackupPrivateKey:
        return cls(_decode_key_text(text, _PRIVATE_PREFIX, "private"))

    def to_text(self) -> str:
        return _PRIVATE_PREFIX + base64.b64encode(self.raw).decode() + "\n"

    def public(self) -> BackupPublicKey:
        return BackupPublicKey(X25519PrivateKey.from_private_bytes(self.raw).public_key().public_bytes_raw())

    def __repr__(self) -> str:  # never print the secret
        return f"BackupPrivateKey(key_id={self.public().key_id!r})"


def _read_key_file(path: Path, what: str) -> str:
    try:
        return path.read_bytes().decode("ascii")
    except FileNotFoundError as exc:
        raise BackupKeyInvalid(f"no backup {what} key at {path}") from exc
    except UnicodeDecodeError as exc:
        raise BackupKeyInvalid(f"the backup {what} key file is not text") from exc


def load_backup_public_key(path: Path) -> BackupPublicKey:
    return BackupPublicKey.from_text(_read_key_file(path, "public"))


def load_backup_private_key(path: Path) -> BackupPrivateKey:
    return BackupPrivateKey.from_text(_read_key_file(path, "private"))


def _stream_key(shared: bytes, header: bytes) -> bytes:
    salt = header[BACKUP_HEADER_BYTES - 4 - 32 : BACKUP_HEADER_BYTES - 4]
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=BACKUP_CONTEXT + header)
    return hkdf.derive(shared)


def _chunk_nonce_and_ad(index: int, final: bool) -> tuple[bytes, bytes]:
    position = index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")
    return position + b"\x00\x00\x00", BACKUP_CONTEXT + position


class BackupSealer:
    """Seals a stream for a backup public key: ``write`` any amount, then ``close`` once (which writes the
    final chunk, empty when the stream ended on a chunk boundary)."""

    def __init__(self, recipient: BackupPublicKey, out: BinaryIO, chunk_bytes: int = BACKUP_CHUNK_BYTES) -> None:
        ephemeral = X25519PrivateKey.generate()
        header = BACKUP_MAGIC + bytes([BACKUP_VERSION]) + bytes.fromhex(recipient.key_id)
        header += ephemeral.public_key().public_bytes_raw() + secrets.token_bytes(32) + chunk_bytes.to_bytes(4, "big")
        assert len(header) == BACKUP_HEADER_BYTES
        try:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.raw))
        except ValueError as exc:  # a low-order point, which no generated key is
            raise BackupKeyInvalid("the backup public key is not a usable X25519 key") from exc
        self._aead = AESGCM(_stream_key(shared, header))
        self._out, self._chunk_bytes = out, chunk_bytes
        self._buffer, self._index, self._closed = bytearray(), 0, False
        out.write(header)

    def write(self, data: bytes) -> None:
        assert not self._closed
        self._buffer += data
        # Keep at least one byte back: the chunk that ends the stream must be the one marked final.
        while len(self._buffer) > self._chunk_bytes:
            self._emit(bytes(self._buffer[: self._chunk_bytes]), final=False)
            del self._buffer[: self._chunk_bytes]

    def close(self) -> None:
        assert not self._closed
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._closed = True

    def _emit(self, plaintext: bytes, final: bool) -> None:
        nonce, ad = _chunk_nonce_and_ad(self._index, final)
        sealed = self._aead.encrypt(nonce, plaintext, ad)
        self._out.write(len(sealed).to_bytes(4, "big") + sealed)
        self._index += 1


def backup_recipient(header: bytes) -> str:
    """The key id of the backup public key a file was sealed for (from its first bytes)."""
    if len(header) < BACKUP_HEADER_BYTES or header[:15] != BACKUP_MAGIC:
        raise BackupCorrupt("this is not an Ishenim backup file")
    if header[15] != BACKUP_VERSION:
        raise BackupCorrupt(f"backup format version {header[15]} is not known to this version of Ishenim")
    return header[16:24].hex()


def open_backup(key: BackupPrivateKey, source: BinaryIO) -> Iterator[bytes]:
    """The plaintext of a backup, chunk by chunk. A chunk is yielded only after its tag checked, but the
    whole stream is authentic only once the iterator ends without ``BackupCorrupt``: a truncated file is
    found at its end. So read it once to check before acting on any of it."""
    header = source.read(BACKUP_HEADER_BYTES)
    recipient = backup_recipient(header)
    public = key.public()
    if not hmac.compare_digest(recipient, public.key_id):
        raise BackupWrongKey(
            f"the backup was sealed for backup key {recipient}, and this private key is {public.key_id}"
        )
    chunk_bytes = int.from_bytes(header[-4:], "big")
    if not 0 < chunk_bytes <= 64 * BACKUP_CHUNK_BYTES:
        raise BackupCorrupt("the backup's header is damaged")
    ephemeral = header[24:56]
    try:
        shared = X25519PrivateKey.from_private_bytes(key.raw).exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError as exc:  # a low-order point: the header was forged
        raise BackupCorrupt("the backup's header is damaged") from exc
    aead = AESGCM(_stream_key(shared, header))
    index = 0
    while True:
        prefix = source.read(4)
        if len(prefix) < 4:
            raise BackupCorrupt("the backup is truncated: it ends before its last chunk")
        length = int.from_bytes(prefix, "big")
        if not _TAG_BYTES <= length <= chunk_bytes + _TAG_BYTES:
            raise BackupCorrupt(f"chunk {index} of the backup is damaged")
        sealed = source.read(length)
        if len(sealed) < length:
            raise BackupCorrupt("the backup is truncated: it ends inside a chunk")
        # Try "final" only where the chunk could be the last one (a full chunk may be either).
        plaintext = None
        for final in (False, True) if length == chunk_bytes + _TAG_BYTES else (True,):
            nonce, ad = _chunk_nonce_and_ad(index, final)
            try:
                plaintext = aead.decrypt(nonce, sealed, ad)
            except InvalidTag:
                continue
            break
        if plaintext is None:
            raise BackupCorrupt(f"chunk {index} of the backup does not open: the file was altered")
        yield plaintext
        index += 1
        if final:
            if source.read(1):
                raise BackupCorrupt("the backup has bytes after its last chunk")
            return
