"""One submission writer process for all gunicorn workers.

Each worker's own writer thread (intake.Writer) shares its process's interpreter lock (the GIL) with the
request threads. Under load every SQLite call of the writer gave the lock away and waited to get it back:
a batch took five times its CPU time, the writer thread was busy all the time, and it was the bottleneck
(bench/README.md, round 4). Here one process does nothing but store: the gunicorn master starts it before
the workers (`when_ready`, in gunicorn.conf.py), starts it again if it dies, and ends it after the workers
(`on_exit`); each worker hands its submissions to it over a Unix socket, and a request is answered only
when the process replies after its commit, as before.

The process is a speed-up, never a single point of failure: a worker that cannot reach it stores with its
own writer thread, and a connection that breaks answers its waiting requests "not stored, try again"
(the client retries with the same key, which stores the submission once or returns the stored row). The
rules, the transaction and the unique indexes are intake's, whichever process runs them.

Wire format: frames of a 4-byte length and a `marshal`led list of tuples of plain values (unlike pickle,
reading a frame never runs code). The socket lives in a directory only the server's user can open.
"""
import itertools
import logging
import marshal
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from app.screening import intake

logger = logging.getLogger(__name__)

SOCKET_ENV = "XINQIAO_WRITER_SOCKET"        # set by the master for its workers: where the process listens
SERVE_ENV = "XINQIAO_WRITER_SERVE"          # set for the process: the socket to create
PARENT_ENV = "XINQIAO_WRITER_PARENT"        # the master's pid: the process ends when the master is gone
APP_ENV = "XINQIAO_WRITER_APP"              # the app gunicorn serves, e.g. "wsgi:app"
# With more than one submission waiting (a class submitting), wait this long once for more before writing:
# a batch's fixed cost (~1.2 ms: the rules' queries, the chain's end, the commit) dominates small batches,
# and 1 ms more per answer is nothing next to a student's minutes (bench/README.md, round 4).
GATHER_SECONDS = 0.001
RECONNECT_SECONDS = 1.0                     # between attempts to reach a process that did not answer
_HEADER = struct.Struct("!I")


def _frame(items) -> bytes:
    data = marshal.dumps(items)
    return _HEADER.pack(len(data)) + data


def _send_frames(sock, outbox: queue.SimpleQueue, on_error) -> None:
    """A connection's sending thread: everything queued meanwhile goes in one write, until None is queued.

    Request threads (or the writer) only queue: writing to the socket themselves, under a lock, made them
    wait for each other in the profile."""
    while True:
        frames = [outbox.get()]
        while True:
            try:
                frames.append(outbox.get_nowait())
            except queue.Empty:
                break
        try:
            sock.sendall(b"".join(frame for frame in frames if frame is not None))
        except OSError:
            on_error()
            return
        if None in frames:
            return


def _frames(sock):
    """The lists of tuples arriving on `sock`, until it closes (a frame cut off by a crash is dropped)."""
    stream = sock.makefile("rb")
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (length,) = _HEADER.unpack(header)
        data = stream.read(length)
        if len(data) < length:
            return
        yield marshal.loads(data)


# --- in each worker: hand submissions to the process ---------------------------------------------------------

def writer_for(app):
    """The writer a worker's requests use: the shared process when the master started one, else its own thread."""
    local = intake.Writer(app)
    path = os.environ.get(SOCKET_ENV)
    return RemoteWriter(path, local) if path else local


class _Connection:
    def __init__(self, sock):
        self.sock = sock
        self.outbox = queue.SimpleQueue()
        self.pending: dict[int, intake.Submission] = {}
        self.open = True


class RemoteWriter:
    """Sends submissions to the writer process and waits for its answer; stores locally when it is away."""

    def __init__(self, path: str, local: intake.Writer):
        self.path, self.local = path, local
        self._lock = threading.Lock()
        self._connection, self._pid, self._next_try = None, None, 0.0
        self._seq = itertools.count(1)

    def submit(self, sub: intake.Submission, timeout: float) -> intake.Receipt:
        connection = self._connect()
        if connection is None:
            return self.local.submit(sub, timeout)
        seq = next(self._seq)
        try:
            frame = _frame([(seq, sub.campaign_id, sub.student_id, sub.scale_code, sub.scale_version, sub.answers,
                             sub.idempotency_key, sub.started_at.isoformat() if sub.started_at else None,
                             sub.received_at.isoformat())])
        except ValueError:  # answers marshal cannot carry: not valid answers for any scale
            return self.local.submit(sub, timeout)
        connection.pending[seq] = sub
        connection.outbox.put(frame)
        # A connection lost before it saw this submission in `pending` will not answer it: store it here.
        if not connection.open and connection.pending.pop(seq, None) is not None:
            return self.local.submit(sub, timeout)
        try:
            return intake.wait_for(sub, timeout)
        finally:
            connection.pending.pop(seq, None)

    def _connect(self):
        if self._pid == os.getpid() and self._connection is not None and self._connection.open:
            return self._connection
        with self._lock:
            if self._pid != os.getpid():  # after gunicorn's fork: the parent's connection is not ours
                self._connection, self._pid, self._next_try = None, os.getpid(), 0.0
            if self._connection is not None and self._connection.open:
                return self._connection
            if time.monotonic() < self._next_try:
                return None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(RECONNECT_SECONDS)
                sock.connect(self.path)
                sock.settimeout(None)
            except OSError:
                sock.close()
                self._next_try = time.monotonic() + RECONNECT_SECONDS
                logger.warning("submission writer process not reachable at %s: storing in this worker", self.path)
                return None
            connection = _Connection(sock)
            threading.Thread(target=self._read_answers, args=(connection,), daemon=True,
                             name="xinqiao-writer-answers").start()
            threading.Thread(target=_send_frames, args=(sock, connection.outbox, lambda: self._lost(connection)),
                             daemon=True, name="xinqiao-writer-send").start()
            self._connection = connection
            return connection

    def _read_answers(self, connection):
        try:
            for answers in _frames(connection.sock):
                for seq, kind, *rest in answers:
                    sub = connection.pending.pop(seq, None)
                    if sub is not None:
                        _finish_from_answer(sub, kind, rest)
        except (OSError, EOFError):
            pass  # the process went away
        except Exception:  # an answer this worker cannot read: start over with a new connection
            logger.exception("unreadable answer from the submission writer process")
        self._lost(connection)

    def _lost(self, connection):
        with self._lock:
            connection.open = False
            if self._connection is connection:
                self._connection = None
        connection.outbox.put(None)  # ends the sending thread
        try:
            connection.sock.close()
        except OSError:
            pass
        # Whatever was sent may or may not be stored: the clients retry with their keys.
        for seq in list(connection.pending):
            sub = connection.pending.pop(seq, None)
            if sub is not None:
                sub.finish(intake.NotStored("the submission writer process went away"))


def _finish_from_answer(sub, kind, rest):
    if kind == "stored":
        response_id, received_at, created, crisis, sub.mail_pending = rest
        sub.finish(intake.Receipt(response_id, datetime.fromisoformat(received_at), created, crisis))
    elif kind == "refused":
        sub.finish(intake.ScreeningError(*rest))
    else:
        sub.finish(intake.NotStored(rest[0] if rest else "not stored"))


# --- the process ----------------------------------------------------------------------------------------------

def _answer(seq, sub):
    outcome = sub.outcome
    if isinstance(outcome, intake.Receipt):
        return (seq, "stored", outcome.response_id, outcome.received_at.isoformat(), outcome.created,
                outcome.show_crisis_resources, sub.mail_pending)
    if isinstance(outcome, intake.ScreeningError):
        return (seq, "refused", outcome.code, outcome.item)
    return (seq, "failed", type(outcome).__name__)


def _serve_connection(sock, writer, registry):
    """Read a worker's submissions into the writer's queue; a thread of its own sends the answers back."""
    outbox = queue.SimpleQueue()
    threading.Thread(target=_send_frames, args=(sock, outbox, lambda: None), daemon=True,
                     name="xinqiao-writer-send").start()  # on error the worker is gone: its requests went with it
    try:
        for items in _frames(sock):
            for seq, campaign_id, student_id, scale, version, answers, key, started_at, received_at in items:
                sub = intake.prepare(registry, campaign_id, student_id, scale, version, answers, key,
                                     datetime.fromisoformat(started_at) if started_at else None,
                                     datetime.fromisoformat(received_at), waitable=False)
                sub.on_finish = lambda done, seq=seq: outbox.put(_frame([_answer(seq, done)]))
                writer.enqueue(sub)
    except (OSError, EOFError):
        pass  # the worker went away; what it sent is stored and answered into the void
    except Exception:  # a frame this process cannot read: the worker's waiting requests are told to send again
        logger.exception("unreadable submission from a worker")
    finally:
        outbox.put(None)
        sock.close()


def serve(path: str, parent_pid: int, app_uri: str) -> None:
    """Load the app gunicorn serves (with its own writer thread), listen on `path`, store what workers send."""
    from gunicorn.util import import_app

    os.environ.pop(SOCKET_ENV, None)  # this process stores itself
    app = import_app(app_uri)
    registry = app.extensions["scales"]
    writer = intake.Writer(app, gather_seconds=GATHER_SECONDS)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)

    # A SIGTERM or Ctrl-C sent to the whole process group is for the master: its workers may still be waiting
    # for answers. The master ends this process after them (on_exit); see watch_parent for a master killed.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch_parent():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        os._exit(0)  # the master is gone, so are its workers: nothing waits for an answer any more

    threading.Thread(target=watch_parent, daemon=True, name="xinqiao-writer-parent").start()
    logger.info("submission writer process %s ready on %s", os.getpid(), path)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=_serve_connection, args=(sock, writer, registry), daemon=True,
                         name="xinqiao-writer-connection").start()


# --- gunicorn master hooks (gunicorn.conf.py) ------------------------------------------------------------------

SOCKET_DIR_PREFIX = "xinqiao-writer-"


def _remove_stale_socket_dirs(older_than_s=60):
    """Socket directories of servers that were killed (nothing cleaned up after them): nobody listens there."""
    for directory in Path(tempfile.gettempdir()).glob(SOCKET_DIR_PREFIX + "*"):
        try:
            status = directory.stat()
            if status.st_uid != os.getuid() or time.time() - status.st_mtime < older_than_s:
                continue  # another user's, or perhaps a server starting right now
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(directory / "socket"))
                continue  # a live server's
            except OSError:
                shutil.rmtree(directory, ignore_errors=True)
            finally:
                probe.close()
        except OSError:
            continue


class _Supervisor:
    """In the gunicorn master: starts the writer process, starts it again when it dies, ends it at exit.

    While it is away the workers store with their own threads; they reach the new process at the same socket.
    """

    def __init__(self, app_uri, log):
        self.log, self.stopping = log, False
        self.directory = tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX)  # mode 0700: only this user may connect
        self.path = os.path.join(self.directory, "socket")
        root = str(Path(__file__).resolve().parents[2])
        self.env = dict(os.environ, **{SERVE_ENV: self.path, PARENT_ENV: str(os.getpid()), APP_ENV: app_uri})
        self.env.pop(SOCKET_ENV, None)
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, self.env.get("PYTHONPATH")]))
        self.process = self._start()

    def _start(self):
        self.started_at = time.monotonic()
        return subprocess.Popen([sys.executable, "-m", "app.screening.writer_process"], env=self.env)

    def wait_until_listening(self, timeout_s=60) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None and not os.path.exists(self.path):
            time.sleep(0.05)
        return os.path.exists(self.path)

    def watch(self):
        pause = 1.0
        while not self.stopping:
            time.sleep(pause)
            if self.stopping or self.process.poll() is None:
                continue
            # A process that dies at once again and again (a broken install) is retried less and less often.
            pause = 1.0 if time.monotonic() - self.started_at > 30 else min(pause * 2, 60.0)
            self.log.error("the submission writer process ended (exit %s); starting it again", self.process.returncode)
            self.process = self._start()

    def stop(self):
        self.stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)  # its default action ends the process; SIGTERM it ignores
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def when_ready(server):
    """Start the writer process before the workers and tell them where it listens (they inherit the setting)."""
    _remove_stale_socket_dirs()
    supervisor = server.xinqiao_writer = _Supervisor(server.app.app_uri, server.log)
    if supervisor.wait_until_listening():
        os.environ[SOCKET_ENV] = supervisor.path
    else:  # the workers store with their own threads: slower, just as safe
        server.log.error("the submission writer process did not start; workers store in-process")
    threading.Thread(target=supervisor.watch, daemon=True, name="xinqiao-writer-supervisor").start()


def on_exit(server):
    """After the workers have stopped: end the writer process. Nobody waits for its answers any more; a batch
    it was storing is committed whole or not at all, and no client was told it was stored."""
    supervisor = getattr(server, "xinqiao_writer", None)
    if supervisor is not None:
        supervisor.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="[writer %(process)d] %(levelname)s %(message)s")
    serve(os.environ[SERVE_ENV], int(os.environ[PARENT_ENV]), os.environ[APP_ENV])
