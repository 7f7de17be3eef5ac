"""Unit tests of ``server/crypto.py``: envelope encryption, typed errors, the master key file.

Each test names the property it proves; a regression in the module makes at least one of them fail.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
import stat
import uuid
from pathlib import Path

import pytest

from server import crypto

SCHOOL = str(uuid.uuid4())
OWNER = str(uuid.uuid4())
FIELD = "contents"
PLAINTEXT = "Мени класста урушат. Help me.".encode()


@pytest.fixture
def data_key() -> bytes:
    return crypto.new_data_key()


@pytest.fixture
def sealed(data_key: bytes) -> bytes:
    return crypto.seal(data_key, PLAINTEXT, SCHOOL, OWNER, FIELD)


def test_seal_roundtrip(data_key: bytes, sealed: bytes) -> None:
    """What is sealed opens to the same bytes, and the ciphertext does not contain the plaintext."""
    assert crypto.open_sealed(data_key, sealed, SCHOOL, OWNER, FIELD) == PLAINTEXT
    assert PLAINTEXT not in sealed
    # nonce (12 bytes) + ciphertext (same length as the plaintext) + GCM tag (16 bytes)
    assert len(sealed) == crypto.NONCE_BYTES + len(PLAINTEXT) + 16


def test_json_roundtrip(data_key: bytes) -> None:
    value = {"summary": "Жардам керек", "applicant": {"age": 13, "phone": None}}
    sealed = crypto.seal_json(data_key, value, SCHOOL, OWNER, FIELD)
    assert crypto.open_json(data_key, sealed, SCHOOL, OWNER, FIELD) == value


def test_every_seal_uses_a_fresh_96_bit_nonce(data_key: bytes) -> None:
    """Two seals of the same plaintext differ; no nonce repeats across many seals."""
    first = crypto.seal(data_key, PLAINTEXT, SCHOOL, OWNER, FIELD)
    second = crypto.seal(data_key, PLAINTEXT, SCHOOL, OWNER, FIELD)
    assert first != second
    assert crypto.NONCE_BYTES == 12
    nonces = {crypto.seal(data_key, PLAINTEXT, SCHOOL, OWNER, FIELD)[:12] for _ in range(500)}
    assert len(nonces) == 500


def test_data_keys_are_random_256_bit(data_key: bytes) -> None:
    assert len(data_key) == 32
    assert len({crypto.new_data_key() for _ in range(100)}) == 100


def test_error_types_share_one_base() -> None:
    for error in (
        crypto.MasterKeyMissing,
        crypto.MasterKeyInvalid,
        crypto.UnknownKeyId,
        crypto.UnwrapFailed,
        crypto.DecryptionFailed,
    ):
        assert issubclass(error, crypto.CryptoError)


def test_changing_any_byte_fails(data_key: bytes, sealed: bytes) -> None:
    """Flipping any single byte (nonce, ciphertext or tag) raises DecryptionFailed."""
    for index in range(len(sealed)):
        altered = bytearray(sealed)
        altered[index] ^= 0x01
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sealed(data_key, bytes(altered), SCHOOL, OWNER, FIELD)


@pytest.mark.parametrize("keep", [0, 1, 11, 12, 27, 28, -1, -16])
def test_truncated_fails(data_key: bytes, sealed: bytes, keep: int) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(data_key, sealed[:keep], SCHOOL, OWNER, FIELD)


def test_appended_bytes_fail(data_key: bytes, sealed: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(data_key, sealed + b"\x00", SCHOOL, OWNER, FIELD)


@pytest.mark.parametrize(
    ("school", "owner", "field"),
    [
        (str(uuid.uuid4()), OWNER, FIELD),  # copied into another school
        (SCHOOL, str(uuid.uuid4()), FIELD),  # moved to another appeal
        (SCHOOL, OWNER, "event:" + str(uuid.uuid4())),  # moved to another column or event
        (SCHOOL, OWNER, FIELD.upper()),
        (SCHOOL + OWNER[:1], OWNER[1:], FIELD),  # same bytes re-split: the parts are length-prefixed
        (OWNER, SCHOOL, FIELD),  # school and owner swapped
    ],
    ids=["school", "owner", "field", "field-case", "resplit", "swapped"],
)
def test_other_associated_data_fails(data_key: bytes, sealed: bytes, school: str, owner: str, field: str) -> None:
    """A ciphertext is bound to its school, record and field: anywhere else it does not open."""
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(data_key, sealed, school, owner, field)


def test_other_data_key_fails(sealed: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(crypto.new_data_key(), sealed, SCHOOL, OWNER, FIELD)


def test_wrapped_data_key_roundtrip(data_key: bytes) -> None:
    master = crypto.MasterKey.generate()
    wrapped = crypto.wrap_data_key(master, data_key, SCHOOL, OWNER)
    assert data_key not in wrapped
    assert crypto.unwrap_data_key(master, wrapped, SCHOOL, OWNER) == data_key
    assert wrapped != crypto.wrap_data_key(master, data_key, SCHOOL, OWNER)  # fresh nonce per wrap


@pytest.mark.parametrize("case", ["other-owner", "other-school", "other-master", "flipped-byte", "truncated", "empty"])
def test_unwrap_fails_typed(data_key: bytes, case: str) -> None:
    """A data key wrapped for one owner does not unwrap for another, nor under another master key."""
    master = crypto.MasterKey.generate()
    wrapped = crypto.wrap_data_key(master, data_key, SCHOOL, OWNER)
    school, owner = SCHOOL, OWNER
    if case == "other-owner":
        owner = str(uuid.uuid4())
    elif case == "other-school":
        school = str(uuid.uuid4())
    elif case == "other-master":
        master = crypto.MasterKey.generate()
    elif case == "flipped-byte":
        wrapped = bytes([wrapped[0], wrapped[1] ^ 0x80, *wrapped[2:]])
    elif case == "truncated":
        wrapped = wrapped[:-1]
    else:
        wrapped = b""
    with pytest.raises(crypto.UnwrapFailed):
        crypto.unwrap_data_key(master, wrapped, school, owner)


def test_keyring_unknown_key_id() -> None:
    current, older = crypto.MasterKey.generate(), crypto.MasterKey.generate()
    ring = crypto.Keyring(current, older)
    assert ring.get(current.key_id) is current
    assert ring.get(older.key_id) is older
    with pytest.raises(crypto.UnknownKeyId):
        ring.get(crypto.MasterKey.generate().key_id)
    with pytest.raises(crypto.UnknownKeyId):
        ring.get("")


def test_key_id_is_stable_and_distinct() -> None:
    """The key id follows from the secret (so a file holds only the key) and tells keys apart."""
    key = crypto.MasterKey.generate()
    assert crypto.MasterKey.from_text(key.to_text()).key_id == key.key_id
    assert crypto.MasterKey.generate().key_id != key.key_id
    assert key.key_id not in (key.secret.hex(), base64.b64encode(key.secret).decode())


def test_create_master_key_mode_0600_and_no_overwrite(tmp_path: Path) -> None:
    """The key file is owner-only even under a permissive umask, and is never replaced."""
    path = tmp_path / "sub" / "master.key"
    old_umask = os.umask(0)
    try:
        key = crypto.create_master_key(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_master_key(path).secret == key.secret
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        crypto.create_master_key(path)
    assert path.read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_master_key(tmp_path: Path) -> None:
    with pytest.raises(crypto.MasterKeyMissing):
        crypto.load_master_key(tmp_path / "nowhere.key")


GARBAGE_KEY_FILES = {
    "empty": b"",
    "whitespace": b" \n",
    "words": b"this is not a key\n",
    "short": base64.b64encode(bytes(16)) + b"\n",
    "long": base64.b64encode(bytes(33)) + b"\n",
    "hex": bytes(32).hex().encode() + b"\n",
    "not-utf8": b"\xff\xfe\x00\x81garbage",
    "non-ascii": "ключ-ключ-ключ".encode(),
}


@pytest.mark.parametrize("content", GARBAGE_KEY_FILES.values(), ids=GARBAGE_KEY_FILES.keys())
def test_garbage_master_key_is_invalid(tmp_path: Path, content: bytes) -> None:
    """Whatever a damaged key file holds, loading it raises MasterKeyInvalid (a CryptoError), nothing else."""
    path = tmp_path / "master.key"
    path.write_bytes(content)
    with pytest.raises(crypto.MasterKeyInvalid):
        crypto.load_master_key(path)


@pytest.mark.parametrize(
    "content",
    ["", "not base64!", "ключ", "AAAA\u00e9", base64.b64encode(bytes(31)).decode()],
    ids=["empty", "words", "cyrillic", "latin-1", "short"],
)
def test_garbage_master_key_text_is_invalid(content: str) -> None:
    """The same for a key given as text (``ISHENIM_MASTER_KEY``): non-ASCII text included."""
    with pytest.raises(crypto.MasterKeyInvalid):
        crypto.MasterKey.from_text(content)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_secret_of_wrong_length_is_invalid(length: int) -> None:
    with pytest.raises(crypto.MasterKeyInvalid):
        crypto.MasterKey.from_secret(bytes(length))


def test_repr_never_shows_the_secret() -> None:
    key = crypto.MasterKey.generate()
    forms = {
        key.secret.hex(),
        base64.b64encode(key.secret).decode(),
        base64.urlsafe_b64encode(key.secret).decode(),
        repr(key.secret)[2:-1],
    }
    for shown in (repr(key), str(key), f"{key}", f"{key!r}", repr(crypto.Keyring(key)), repr([key])):
        for form in forms:
            assert form not in shown
    assert key.key_id in repr(key)


# --- Backups: the sealed stream ---------------------------------------------------------------------------

SMALL_CHUNK = 64
Pair = tuple[crypto.BackupPrivateKey, crypto.BackupPublicKey]


def _seal_stream(public: crypto.BackupPublicKey, data: bytes, chunk: int = SMALL_CHUNK, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    sealer = crypto.BackupSealer(public, out, chunk)
    for start in range(0, len(data), pieces):  # written in odd-sized pieces, as a dump arrives
        sealer.write(data[start : start + pieces])
    sealer.close()
    return out.getvalue()


def _open_stream(private: crypto.BackupPrivateKey, sealed: bytes) -> bytes:
    return b"".join(crypto.open_backup(private, io.BytesIO(sealed)))


def _chunks(sealed: bytes) -> tuple[bytes, list[bytes]]:
    """The header and each chunk's record (length prefix and ciphertext)."""
    header, rest, records = sealed[: crypto.BACKUP_HEADER_BYTES], sealed[crypto.BACKUP_HEADER_BYTES :], []
    while rest:
        length = int.from_bytes(rest[:4], "big")
        records.append(rest[: 4 + length])
        rest = rest[4 + length :]
    return header, records


@pytest.fixture(scope="module")
def backup_pair() -> Pair:
    private = crypto.BackupPrivateKey.generate()
    return private, private.public()


@pytest.mark.parametrize("size", [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK, 200])
def test_backup_stream_roundtrip(backup_pair: Pair, size: int) -> None:
    """Any length opens to the same bytes; every chunk but the last is full, and the last is never empty
    unless the whole stream is."""
    private, public = backup_pair
    data = secrets.token_bytes(size)
    sealed = _seal_stream(public, data)
    assert _open_stream(private, sealed) == data
    header, records = _chunks(sealed)
    assert header.startswith(crypto.BACKUP_MAGIC) and crypto.backup_recipient(header) == public.key_id
    assert len(records) == max(1, -(-size // SMALL_CHUNK))
    assert all(len(record) == 4 + SMALL_CHUNK + 16 for record in records[:-1])
    assert size < 16 or data[:16] not in sealed


def test_backup_streams_never_repeat(backup_pair: Pair) -> None:
    """A fresh ephemeral key and salt per file: the same database sealed twice shares no chunk."""
    _, public = backup_pair
    data = bytes(5 * SMALL_CHUNK)
    first, second = _chunks(_seal_stream(public, data)), _chunks(_seal_stream(public, data))
    assert first[0][24:88] != second[0][24:88]
    assert not set(first[1]) & set(second[1])


@pytest.mark.parametrize(
    "damage", ["drop-last", "drop-middle", "swap", "duplicate", "append", "cut-inside", "header-only", "nothing"]
)
def test_backup_stream_detects_reordering_and_truncation(backup_pair: Pair, damage: str) -> None:
    private, public = backup_pair
    header, records = _chunks(_seal_stream(public, secrets.token_bytes(4 * SMALL_CHUNK + 10)))
    assert len(records) == 5
    if damage == "drop-last":  # ends exactly on a chunk boundary, before the final chunk
        records = records[:-1]
    elif damage == "drop-middle":
        del records[2]
    elif damage == "swap":
        records[1], records[2] = records[2], records[1]
    elif damage == "duplicate":
        records.insert(2, records[1])
    elif damage == "append":
        records.append(b"\x00")
    elif damage == "cut-inside":
        records[-1] = records[-1][:-3]
    elif damage == "header-only":
        records = []
    else:
        header, records = b"", []
    with pytest.raises(crypto.BackupCorrupt):
        _open_stream(private, header + b"".join(records))


def test_backup_stream_every_byte_matters(backup_pair: Pair) -> None:
    """Flipping any byte (header, length prefix, ciphertext, tag) refuses the whole stream."""
    private, public = backup_pair
    sealed = _seal_stream(public, secrets.token_bytes(2 * SMALL_CHUNK + 5))
    for index in range(len(sealed)):
        altered = bytearray(sealed)
        altered[index] ^= 0x01
        with pytest.raises((crypto.BackupCorrupt, crypto.BackupWrongKey)):
            _open_stream(private, bytes(altered))


def test_backup_stream_needs_its_private_key(
    backup_pair: Pair,
) -> None:
    _, public = backup_pair
    sealed = _seal_stream(public, b"data")
    with pytest.raises(crypto.BackupWrongKey, match=public.key_id):
        _open_stream(crypto.BackupPrivateKey.generate(), sealed)


def test_backup_key_texts(tmp_path: Path) -> None:
    """Each half is labelled: swapping them, or any garbage, is a clear BackupKeyInvalid; the private key
    never shows in a repr."""
    private = crypto.BackupPrivateKey.generate()
    public = private.public()
    assert crypto.BackupPrivateKey.from_text(private.to_text()) == private
    assert crypto.BackupPublicKey.from_text(public.to_text()) == public
    with pytest.raises(crypto.BackupKeyInvalid, match="other half"):
        crypto.BackupPrivateKey.from_text(public.to_text())
    with pytest.raises(crypto.BackupKeyInvalid, match="other half"):
        crypto.BackupPublicKey.from_text(private.to_text())
    for garbage in (
        "",
        "ishenim-backup-private-v1:!!",
        "ishenim-backup-private-v1:" + base64.b64encode(bytes(16)).decode(),
    ):
        with pytest.raises(crypto.BackupKeyInvalid):
            crypto.BackupPrivateKey.from_text(garbage)
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    for path in (tmp_path / "missing", tmp_path / "binary"):
        with pytest.raises(crypto.BackupKeyInvalid):
            crypto.load_backup_private_key(path)
    secret = private.to_text().split(":", 1)[1].strip()
    assert secret not in repr(private) and private.raw.hex() not in repr(private)
    assert public.key_id in repr(private)
    with pytest.raises(crypto.BackupKeyInvalid):
        crypto.BackupSealer(crypto.BackupPublicKey(bytes(32)), io.BytesIO())  # a low-order point


def test_write_secret_file_is_whole_owner_only_and_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "master.key.next"
    old_umask = os.umask(0)
    try:
        crypto.write_secret_file(path, "first\n")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "first\n"
    with pytest.raises(FileExistsError):
        crypto.write_secret_file(path, "second\n")
    assert path.read_text() == "first\n"
    crypto.write_secret_file(path, "second\n", replace=True)
    assert path.read_text() == "second\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key.next"]  # no temporary left behind
