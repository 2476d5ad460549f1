"""How each database engine is copied while the server runs, loaded into a database, and checked.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the file in one step, a consistent snapshot that
never blocks the writers (WAL). PostgreSQL: `pg_dump` in its custom format, run on a snapshot exported by a
transaction that also counts the rows, so that the manifest describes exactly what was dumped; loaded with
`pg_restore` into `psql --single-transaction`, so that a restore lands whole or not at all.
"""
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import column, create_engine, func, inspect, literal, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.core import clock


class BackupError(RuntimeError):
    """A backup, verification or restore cannot go on; the message says why and what to do."""


def engine_for(url: str):
    name = make_url(url).get_backend_name()
    if name == "sqlite":
        return SqliteEngine(url)
    if name == "postgresql":
        return PostgresEngine(url)
    raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")


@contextmanager
def connect(url: str):
    """A plain connection (none of the app's hooks), closed at the end."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def describe(connection) -> dict:
    """What the manifest says of a database, read in one transaction: schema revision, rows per table, audit head."""
    tables = sorted(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        raise BackupError("the database has no schema revision (alembic_version): is it XinQiao's, and migrated?")
    # Table names from the database's own catalogue, quoted by SQLAlchemy.
    counts = {name: connection.execute(select(func.count()).select_from(table(name))).scalar() for name in tables}
    head = None
    if "audit_events" in tables:
        head = connection.execute(select(column("hash")).select_from(table("audit_events"))
                                  .order_by(column("id").desc()).limit(1)).scalar()
    return {"schema_revision": connection.execute(text("SELECT version_num FROM alembic_version")).scalar(),
            "row_counts": counts, "audit": {"events": counts.get("audit_events", 0), "head": head}}


def has_data(url: str) -> bool:
    """Whether any table other than the schema revision holds a row (a database a restore would overwrite)."""
    with connect(url) as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        return any(connection.execute(select(literal(1)).select_from(table(name)).limit(1)).first()
                   for name in tables)


def _run(connection, statement: str, database: str) -> None:
    """CREATE or DROP DATABASE (outside a transaction) with the name quoted as an identifier."""
    quoted = connection.dialect.identifier_preparer.quote_identifier(database)
    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement.format(quoted))


def _tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace").strip()[-2000:]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SqliteEngine:
    name, file_name = "sqlite", "database.sqlite"
    integrity_checked = "integrity_check and foreign_key_check passed"

    def __init__(self, url: str):
        self.url = url
        self.path = make_url(url).database
        if not self.path or self.path == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")

    def dump(self, destination: Path) -> tuple:
        """Copy the live database to `destination`; returns (moment before the snapshot, manifest facts)."""
        if not os.path.exists(self.path):
            raise BackupError(f"no database file at {self.path}")
        source = sqlite3.connect(self.path, timeout=30)
        target = sqlite3.connect(destination)
        try:
            moment = clock.now()  # the snapshot is taken after this: every commit acknowledged before it is in
            source.backup(target)  # one step (pages=-1): a consistent snapshot, whatever is written meanwhile
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        finally:
            target.close()
            source.close()
        _fsync(destination)
        with connect(f"sqlite:///{destination}") as connection:
            return moment, describe(connection)

    def scratch(self, workdir: Path) -> str:
        return f"sqlite:///{workdir / 'scratch.sqlite'}"

    def load(self, backup_file: Path, url: str, *, overwrite: bool) -> None:
        """Write the backup into the database at `url` in one transaction (the backup API, as for the copy)."""
        path = make_url(url).database
        if not path or path == ":memory:":
            raise BackupError("cannot restore into an in-memory SQLite database")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        target = sqlite3.connect(path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    def drop_scratch(self, url: str) -> None:
        pass  # its file goes with the work directory

    def integrity(self, url: str) -> list[str]:
        path = make_url(url).database
        connection = sqlite3.connect(path)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            connection.close()
        problems = [] if result == ["ok"] else [f"integrity_check: {line}" for line in result[:20]]
        if foreign:
            problems.append(f"foreign_key_check: {len(foreign)} rows point at rows that do not exist")
        return problems


class PostgresEngine:
    name, file_name = "postgresql", "database.pgdump"
    integrity_checked = "pg_restore's SQL ran whole in one transaction, stopping at any error"

    def __init__(self, url: str):
        self.url = url

    @staticmethod
    def _environment(url: str) -> dict:
        """libpq's variables for the tools: the password never appears on a command line."""
        parsed = make_url(url)
        env = dict(os.environ)
        for variable, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                                ("PGPASSWORD", parsed.password), ("PGDATABASE", parsed.database),
                                ("PGSSLMODE", parsed.query.get("sslmode"))):
            if value is not None:
                env[variable] = str(value)
        return env

    @staticmethod
    def _tool(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
        return path

    def _check_pg_dump(self, connection) -> str:
        """pg_dump refuses a server newer than itself: say which client to install."""
        output = subprocess.run([self._tool("pg_dump"), "--version"], capture_output=True, text=True).stdout.strip()
        found = re.search(r"(\d+)(?:\.\d+)?", output)
        server = connection.execute(text("SHOW server_version_num")).scalar()
        server_major = int(server) // 10000
        if found is None or int(found.group(1)) < server_major:
            raise BackupError(f"{output or 'pg_dump'} cannot dump a PostgreSQL {server_major} server: install "
                              f"postgresql-client-{server_major}")
        return output

    def dump(self, destination: Path) -> tuple:
        with connect(self.url) as connection:
            version = self._check_pg_dump(connection)
            connection.rollback()
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                moment = clock.now()  # the snapshot is taken by the next statement
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
                facts = describe(connection)
                # pg_dump sees the same snapshot: the manifest's counts are the dump's.
                done = subprocess.run(
                    [self._tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                     "--no-privileges", f"--file={destination}"],
                    env=self._environment(self.url), capture_output=True, text=True)
                if done.returncode != 0:
                    raise BackupError("pg_dump failed: " + done.stderr.strip()[-2000:])
        _fsync(destination)
        facts["pg_dump"] = version
        return moment, facts

    def scratch(self, workdir: Path) -> str:
        """A new, empty database beside the configured one (the role needs CREATEDB), dropped after the check."""
        parsed = make_url(self.url)
        name = f"{parsed.database}_verify_{secrets.token_hex(4)}"
        try:
            with connect(parsed.set(database="postgres").render_as_string(hide_password=False)) as admin:
                _run(admin, "CREATE DATABASE {}", name)
        except SQLAlchemyError as exc:
            raise BackupError(f"cannot create the scratch database {name} to verify in (the role needs CREATEDB, "
                              f"and pg_hba.conf must let it connect to the database postgres): "
                              f"{getattr(exc, 'orig', exc)}") from exc
        return parsed.set(database=name).render_as_string(hide_password=False)

    def drop_scratch(self, url: str) -> None:
        parsed = make_url(url)
        with connect(parsed.set(database="postgres").render_as_string(hide_password=False)) as admin:
            _run(admin, "DROP DATABASE IF EXISTS {} WITH (FORCE)", parsed.database)

    def load(self, backup_file: Path, url: str, *, overwrite: bool) -> None:
        """pg_restore's SQL into one psql transaction; with `overwrite` the public schema is emptied first, in
        the same transaction, so that a failure leaves the database as it was."""
        env = dict(self._environment(url), PGOPTIONS="-c client_min_messages=warning")
        with tempfile.TemporaryFile() as restore_log, tempfile.TemporaryFile() as psql_log:
            restore = subprocess.Popen([self._tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
                                        str(backup_file)], stdout=subprocess.PIPE, stderr=restore_log, env=env)
            psql = subprocess.Popen([self._tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
                                     "--set=ON_ERROR_STOP=1", "--output=/dev/null"],
                                    stdin=subprocess.PIPE, stderr=psql_log, env=env)
            try:
                if overwrite:
                    psql.stdin.write(b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
                shutil.copyfileobj(restore.stdout, psql.stdin, 1 << 20)
            except BrokenPipeError:
                pass  # psql stopped at an error (and rolled back): its message follows
            if restore.wait() != 0:
                psql.kill()  # before its input ends: psql would commit what it has read
                psql.wait()
                raise BackupError("pg_restore could not read the backup: " + _tail(restore_log))
            try:
                psql.stdin.close()  # the end of the input: psql commits the one transaction
            except BrokenPipeError:
                pass
            if psql.wait() != 0:
                raise BackupError("the restore failed and changed nothing: " + _tail(psql_log))

    def integrity(self, url: str) -> list[str]:
        return []  # a restore that went through psql with ON_ERROR_STOP in one transaction is the check
