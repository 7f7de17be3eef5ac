"""What the database holds, read raw: for tests that search it for what must never be stored."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import Connection, inspect, text


def stored_values(conn: Connection) -> Iterator[tuple[str, str, bytes]]:
    """Every non-null value of every column of every table, as bytes: (table, column, value)."""
    for table in inspect(conn).get_table_names():
        result = conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 (names come from the schema)
        columns = list(result.keys())
        for row in result:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    raw = bytes(value)
                elif isinstance(value, dict | list):
                    raw = json.dumps(value, ensure_ascii=False).encode()
                else:
                    raw = str(value).encode()
                yield table, column, raw
