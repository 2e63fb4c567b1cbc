"""Huey's embedded queue, opened on first use.

Huey's `SqliteHuey` creates its file when Django starts (`huey.contrib.djhuey` builds the
queue at import). Every `cartera` command would then touch `CARTERA_HOME`, and fail where that
folder does not exist yet (a PostgreSQL installation, a fresh checkout). This variant creates
the folder and the file the first time a task is queued or consumed.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from huey import SqliteHuey
from huey.storage import SqliteStorage


class LazySqliteStorage(SqliteStorage):
    def initialize_schema(self) -> None:
        # Called by the constructor: only remember that the tables are still to be made.
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    def _create_connection(self) -> sqlite3.Connection:
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:
                    Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
                    self._schema_ready = True
                    conn = super()._create_connection()
                    with conn:
                        for sql in self.ddl:
                            conn.execute(sql)
                    return conn
        return super()._create_connection()


class LazySqliteHuey(SqliteHuey):
    storage_class = LazySqliteStorage
