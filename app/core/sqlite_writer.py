"""One SQLite writer at a time, waiting in line instead of in SQLite's busy handler.

SQLite's busy handler polls with sleeps that grow to 100 ms, and it is unfair: a waiter asleep in one
gunicorn worker loses the lock again and again to the next writer of the other worker. Under a class
burst that made tail latency seconds long (bench/README.md). Here a writer first takes a lock shared by
the threads of its process, then an flock() on a file next to the database shared by the processes; both
are blocking waits that wake at once on release. A process killed mid-transaction drops its flock with
its file descriptors, so a crash never leaves the lock held. BEGIN IMMEDIATE and the busy timeout stay as
the last line (other programs opening the file do not take these locks).
"""
import fcntl
import os
import threading

from sqlalchemy import event


# Execution option for a connection that only reads: its transaction takes neither the lock nor SQLite's.
READ_ONLY = "xinqiao_read_only"


def only_reading(session) -> None:
    """Begin `session`'s transaction as a reader's (call it before the session's first query): on SQLite a snapshot
    that neither takes nor waits for the writer lock, so a request that only reads never queues behind a writer."""
    session.connection(execution_options={READ_ONLY: True})


class WriterLock:
    def __init__(self, lock_path: str | None, timeout_s: float):
        self.lock_path, self.timeout_s = lock_path, timeout_s
        self.thread_lock = threading.Lock()
        self.holders: set[int] = set()  # ids of the DBAPI connections that hold the lock
        self._fd, self._fd_pid = None, None

    def _file(self):
        # Opened per process (after gunicorn's fork): a shared descriptor would not exclude the workers.
        if self._fd_pid != os.getpid():
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def acquire(self, key: int) -> None:
        if not self.thread_lock.acquire(timeout=self.timeout_s):
            return  # a leaked holder: fall back to SQLite's own busy handling rather than hang
        try:
            if self.lock_path:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise
        self.holders.add(key)

    def release(self, key: int) -> None:
        if key in self.holders:
            self.holders.discard(key)
            try:
                if self.lock_path:
                    fcntl.flock(self._file(), fcntl.LOCK_UN)
            finally:
                self.thread_lock.release()


def install(engine, timeout_s: float) -> WriterLock:
    """Every transaction of `engine` starts with BEGIN IMMEDIATE under the writer lock, released after
    the COMMIT (with its fsync) or ROLLBACK ran; also on the pool's reset of a returned connection."""
    database = engine.url.database
    lock_path = f"{database}.writer-lock" if database and database != ":memory:" else None
    lock = WriterLock(lock_path, timeout_s)

    def _key(pooled):
        return id(getattr(pooled, "dbapi_connection", pooled))

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # a snapshot for reading: WAL readers never wait for the writer
            return
        key = _key(connection.connection)
        lock.acquire(key)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            lock.release(key)
            raise

    # The engine's commit/rollback events fire before the statement: too early to let the next writer in.
    dialect = engine.dialect
    base_commit, base_rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(pooled):
        try:
            base_commit(pooled)
        finally:
            lock.release(_key(pooled))

    def do_rollback(pooled):
        try:
            base_rollback(pooled)
        finally:
            lock.release(_key(pooled))

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback
    return lock
