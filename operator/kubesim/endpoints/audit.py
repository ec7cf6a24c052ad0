"""The audit trail: one record per API request, as JSON lines to a file and in memory for /kubesim/audit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

Record = dict[str, Any]


@dataclass
class AuditLog:
    path: Path | None = None
    with_bodies: bool = False
    limit: int = 500_000
    records: list[Record] = field(default_factory=list)
    dropped: int = 0
    _file: IO[str] | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            self._file = self.path.open("a", buffering=1)

    def add(self, record: Record) -> None:
        if len(self.records) >= self.limit:
            self.records.pop(0)
            self.dropped += 1
        self.records.append(record)
        if self._file is not None:
            self._file.write(encode(record) + "\n")

    def since(self, index: int) -> list[Record]:
        start = max(0, index - self.dropped)
        return self.records[start:]

    def clear(self) -> None:
        self.dropped += len(self.records)
        self.records.clear()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def encode(record: Record) -> str:
    """One record as compact JSON (orjson: the audit trail is written on every request)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(record, separators=(",", ":"))
