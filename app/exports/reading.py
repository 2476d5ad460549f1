"""Large reads for exports, on a connection of their own: a server-side cursor on PostgreSQL (`yield_per`), a read
snapshot on SQLite that takes neither the writer lock nor SQLite's (a download that lasts minutes must not stop
every student's submission). The connection closes when the generator ends or is closed."""
from app.core import sqlite_writer
from app.extensions import db


def connect(engine=None):
    return (engine or db.engine).connect().execution_options(**{sqlite_writer.READ_ONLY: True})


def chunks(query, size, engine=None):
    """Yield lists of rows of `query`, `size` at a time. A streamed response passes the engine (taken in the view):
    its body is read after the request's contexts are gone, and Flask's stream_with_context leaves them pushed on
    the server's thread after the body ends (Flask 3.1), where the next request on that thread would find them."""
    with connect(engine) as connection:
        result = connection.execute(query.execution_options(yield_per=size))
        yield from result.partitions()


def scalars(query):
    with connect() as connection:
        return connection.execute(query).scalars().all()


def scalar(query):
    with connect() as connection:
        return connection.execute(query).scalar()
