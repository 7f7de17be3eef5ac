"""What a Chromium profile keeps on disk, read back as bytes a thief could search.

A raw ``grep`` of the profile is not enough to prove that no letter text is there, because Chromium does
not always write what a page stored as it was stored:

- IndexedDB lives in LevelDB. Its write-ahead ``.log`` cuts every record into 32 KiB blocks, so a text
  can straddle a block header; its ``.ldb`` tables compress each 4 KiB block with Snappy, so a text that
  repeats earlier bytes becomes a back-reference and is gone from the raw file.
- Blink compresses a large IndexedDB value with Snappy before it reaches LevelDB (the value then starts
  with ``FF 11 02``), and moves a very large value into a file of its own under ``*.indexeddb.blob/``,
  compressed the same way.
- Local and Session Storage are LevelDB too.

``views`` therefore gives, for every file, its raw bytes and everything decoded from it: the log's
records joined again, every table block decompressed, and every Snappy-compressed IndexedDB value
inflated. ``found_in`` searches bytes for a text in the encodings a browser writes: UTF-8 (and so
Latin-1 for ASCII), UTF-16 (V8's two-byte strings, Chromium's pickles), JSON escapes, URL escapes and
base64. ``tests/browser/test_stolen_tablet.py`` proves on a control profile that every one of these
paths finds a text a page stored in plain.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

LOG_BLOCK = 32_768
LOG_HEADER = 7  # checksum (4), length (2), type (1)
LOG_FULL, LOG_FIRST, LOG_MIDDLE, LOG_LAST = 1, 2, 3, 4
TABLE_MAGIC = 0xDB4775248B80FB57
TABLE_FOOTER = 48
BLOCK_TRAILER = 5  # compression type (1), checksum (4)
NO_COMPRESSION, SNAPPY = 0, 1
# Blink's marker of an IndexedDB value compressed with Snappy: the "requires processing" pseudo-version
# of the SSV wrapper (0xFF 0x11), then the kind 2 = Snappy.
BLINK_SNAPPY = b"\xff\x11\x02"
MAX_INFLATED = 256 * 1024 * 1024  # a bigger claim is not a value of ours: the bytes only look like one


class Unreadable(ValueError):
    """Bytes that are not what their name says (a torn write, or a format this reader does not know)."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise Unreadable("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def snappy_decompress(data: bytes, pos: int = 0) -> bytes:
    """Inflate a raw Snappy stream starting at ``pos`` (the format of google/snappy's format_description.txt)."""
    length, pos = _varint(data, pos)
    if length > MAX_INFLATED:
        raise Unreadable("implausible length")
    out = bytearray()
    while len(out) < length:
        if pos >= len(data):
            raise Unreadable("truncated stream")
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # a literal: its length - 1 in the tag, or in the next 1-4 bytes
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            size += 1
            if pos + size > len(data):
                raise Unreadable("truncated literal")
            out += data[pos : pos + size]
            pos += size
            continue
        if kind == 1:
            size, offset = ((tag >> 2) & 7) + 4, ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            size, offset = (tag >> 2) + 1, int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise Unreadable("copy before the start")
        start = len(out) - offset
        while size > 0:  # a copy may overlap what it writes (a run): copy in steps of at most `offset`
            step = min(size, offset)
            out += out[start : start + step]
            start += step
            size -= step
    if len(out) != length:
        raise Unreadable("length mismatch")
    return bytes(out)


def log_records(data: bytes) -> Iterator[bytes]:
    """The logical records of a LevelDB log (or MANIFEST): fragments joined across 32 KiB blocks."""
    pending = bytearray()
    for block_start in range(0, len(data), LOG_BLOCK):
        pos, end = block_start, min(block_start + LOG_BLOCK, len(data))
        while end - pos >= LOG_HEADER:
            size, kind = struct.unpack_from("<HB", data, pos + 4)
            fragment = data[pos + LOG_HEADER : pos + LOG_HEADER + size]
            pos += LOG_HEADER + size
            if kind == LOG_FULL:
                yield fragment
            elif kind == LOG_FIRST:
                pending = bytearray(fragment)
            elif kind == LOG_MIDDLE:
                pending += fragment
            elif kind == LOG_LAST:
                yield bytes(pending + fragment)
                pending = bytearray()
            else:  # zeroes of a preallocated tail: the rest of the block holds nothing
                break
    if pending:
        yield bytes(pending)  # a record torn by the close is still bytes on the disk


def _block(data: bytes, handle: tuple[int, int]) -> bytes:
    offset, size = handle
    if offset + size + BLOCK_TRAILER > len(data):
        raise Unreadable("block outside the table")
    contents, kind = data[offset : offset + size], data[offset + size]
    if kind == NO_COMPRESSION:
        return contents
    if kind == SNAPPY:
        return snappy_decompress(contents)
    # Another codec (zstd) would make this reader blind: fail, never pass unread bytes as clean.
    raise Unreadable(f"block compression {kind}")


def _handle(data: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(data, pos)
    size, pos = _varint(data, pos)
    return (offset, size), pos


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * restarts
    pos, key = 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        size, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + size]
        pos += size


def table_blocks(data: bytes) -> list[bytes]:
    """Every block of a LevelDB table (``.ldb``/``.sst``), decompressed: the index, the meta blocks, the data."""
    if len(data) < TABLE_FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise Unreadable("not a LevelDB table")
    footer = len(data) - TABLE_FOOTER
    meta_handle, pos = _handle(data, footer)
    index_handle, _ = _handle(data, pos)
    index = _block(data, index_handle)
    blocks = [index, _block(data, meta_handle)]
    for _, value in _block_entries(index):
        blocks.append(_block(data, _handle(value, 0)[0]))
    return blocks


def inflated_values(data: bytes) -> list[bytes]:
    """Every Snappy-compressed IndexedDB value that starts somewhere in ``data``, inflated."""
    found = []
    at = data.find(BLINK_SNAPPY)
    while at != -1:
        with contextlib.suppress(Unreadable, IndexError):  # three bytes that only look like the marker
            found.append(snappy_decompress(data, at + len(BLINK_SNAPPY)))
        at = data.find(BLINK_SNAPPY, at + 1)
    return found


def _in_leveldb(path: Path) -> bool:
    return (path.parent / "CURRENT").is_file()


def views(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file's raw bytes and everything decoded from it, each named for the report of a find."""
    raw = path.read_bytes()
    decoded: list[tuple[str, bytes]] = [("raw", raw)]
    if _in_leveldb(path) and (path.suffix == ".log" or path.name.startswith("MANIFEST")):
        decoded += [(f"log record {n}", record) for n, record in enumerate(log_records(raw))]
    elif _in_leveldb(path) and path.suffix in {".ldb", ".sst"}:
        decoded += [(f"table block {n}", block) for n, block in enumerate(table_blocks(raw))]
    for name, data in decoded:
        yield name, data
        for n, value in enumerate(inflated_values(data)):
            yield f"{name}, inflated value {n}", value


def profile_files(profile: Path) -> list[Path]:
    return sorted(path for path in profile.rglob("*") if path.is_file() and not path.is_symlink())


def encodings(text: str) -> list[bytes]:
    """The byte forms of ``text`` a browser may write: plain, UTF-16, JSON- and URL-escaped, base64."""
    utf8 = text.encode()
    forms = {utf8, text.encode("utf-16-le"), text.encode("utf-16-be"), json.dumps(text)[1:-1].encode()}
    # As an address holds it: percent-escaped, a space as %20 or, in a query (URLSearchParams), as "+".
    forms |= {quote(text).encode(), quote(text, safe="").encode(), quote_plus(text).encode()}
    with contextlib.suppress(UnicodeEncodeError):  # Latin-1: one byte a character, as V8 keeps such strings
        forms.add(text.encode("latin-1"))
    if len(utf8) >= 12:  # shorter, a few base64 characters would match noise somewhere in megabytes
        for offset in range(3):
            # Whatever the alignment, the groups away from both ends depend on the text alone.
            encoded = base64.b64encode(b"\0" * offset + utf8)
            forms.add(encoded[4 if offset else 0 : -4])
    return [form for form in forms if form]


def found_in(data: bytes, texts: list[str]) -> list[str]:
    return [text for text in texts if any(form in data for form in encodings(text))]


def scan(profile: Path, texts: list[str]) -> dict[str, list[str]]:
    """``{"<file> (<view>)": [texts found]}`` over every file of a closed profile."""
    hits: dict[str, list[str]] = {}
    for path in profile_files(profile):
        for name, data in views(path):
            found = found_in(data, texts)
            if found:
                hits[f"{path.relative_to(profile)} ({name})"] = found
    return hits
