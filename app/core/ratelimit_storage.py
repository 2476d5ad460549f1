"""Rate-limit counts in a SQLite file, shared by every worker and process on the machine without Redis.

Flask-Limiter's memory:// storage counts per process: under `make run`'s two gunicorn workers every limit was
doubled (issue 15). This is the default storage (`xinqiao-sqlite:///<instance>/ratelimits.sqlite3`); Redis when
RATELIMIT_STORAGE_URI says so (several machines). Fixed windows only, Flask-Limiter's default strategy. The file
holds keyed limit names and counts, never a request's content; losing the last counts in a power cut is harmless,
so commits are not synced.
"""
import os
import random
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "xinqiao-sqlite"


def default_uri(instance_dir) -> str:
    return f"{SCHEME}:///{os.path.join(str(instance_dir), 'ratelimits.sqlite3')}"


class SQLiteFileStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = (uri or "")[len(SCHEME) + len("://"):]
        if not self.path:
            raise ValueError(f"{SCHEME}:// needs a file: {SCHEME}:///path/to/ratelimits.sqlite3")
        self._local = threading.local()

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and process: a connection opened before gunicorn's fork is not reused after it.
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("CREATE TABLE IF NOT EXISTS counts (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                               "expires REAL NOT NULL)")
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        if random.random() < 0.01:  # forget windows long past now and then
            connection.execute("DELETE FROM counts WHERE expires < ?", (now,))
        # One statement: atomic across threads and processes (SQLite takes its write lock for it).
        row = connection.execute(
            "INSERT INTO counts (key, count, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ? THEN excluded.count ELSE count + excluded.count END, "
            "expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END RETURNING count",
            (key, amount, now + expiry, now, now)).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT count FROM counts WHERE key = ? AND expires > ?",
                                         (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires FROM counts WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counts").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counts WHERE key = ?", (key,))
