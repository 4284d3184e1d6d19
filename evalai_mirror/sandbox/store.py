"""The sandbox's state: JSON documents and blobs in one SQLite file under the data folder.

Documents are kept per kind ("challenge", "phase", "leaderboard", "dataset_split",
"phase_split") with their own pk sequence, like Django tables; ``parent`` is the challenge pk.
One connection, guarded by a re-entrant lock, serves every request thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, pk INTEGER NOT NULL, parent INTEGER, doc TEXT NOT NULL,
    PRIMARY KEY (kind, pk)
);
CREATE INDEX IF NOT EXISTS docs_parent ON docs (kind, parent);
CREATE TABLE IF NOT EXISTS blobs (
    kind TEXT NOT NULL, pk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, pk)
);
"""


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "sandbox.sqlite3"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all (nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- documents ------------------------------------------------------------------------
    def insert(self, kind: str, parent: int | None, doc: dict[str, Any]) -> int:
        """Store ``doc`` under the next pk of ``kind``; its ``id`` is set to that pk."""
        with self.transaction():
            row = self._db.execute("SELECT MAX(pk) FROM docs WHERE kind = ?", (kind,)).fetchone()
            pk = int(row[0] or 0) + 1
            doc["id"] = pk
            self._db.execute(
                "INSERT INTO docs (kind, pk, parent, doc) VALUES (?, ?, ?, ?)",
                (kind, pk, parent, json.dumps(doc)),
            )
        return pk

    def put(self, kind: str, pk: int, doc: dict[str, Any]) -> None:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE docs SET doc = ? WHERE kind = ? AND pk = ?", (json.dumps(doc), kind, pk)
            )
            if cursor.rowcount != 1:
                raise KeyError(f"{kind} {pk} does not exist")

    def get(self, kind: str, pk: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM docs WHERE kind = ? AND pk = ?", (kind, pk)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def parent(self, kind: str, pk: int) -> int | None:
        """The challenge pk a document was stored under (None: none, or no such document)."""
        with self._lock:
            row = self._db.execute(
                "SELECT parent FROM docs WHERE kind = ? AND pk = ?", (kind, pk)
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def children(self, kind: str, parent: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM docs WHERE kind = ? AND parent = ? ORDER BY pk", (kind, parent)
            ).fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM docs WHERE kind = ? ORDER BY pk", (kind,)
            ).fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    # -- blobs (uploaded config zips, logos) ----------------------------------------------
    def put_blob(self, kind: str, pk: int, data: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO blobs (kind, pk, data) VALUES (?, ?, ?)", (kind, pk, data)
            )

    def get_blob(self, kind: str, pk: int) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM blobs WHERE kind = ? AND pk = ?", (kind, pk)
            ).fetchone()
        return None if row is None else bytes(row[0])
