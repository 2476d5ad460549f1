"""One submission writer process for all gunicorn workers.

Each worker's own writer thread (intake.Writer) shares its process's interpreter lock (the GIL) with the
request threads. Under load every SQLite call of the writer gave the lock away and waited to get it back:
a batch took five times its CPU time, the writer thread was busy all the time, and it was the bottleneck
(bench/README.md, round 4). Here one process does nothing but store: the gunicorn master starts it before
the workers (`when_ready`, in gunicorn.conf.py), starts it again if it dies, and ends it after the workers
(`on_exit`). A request is answered only when the process replies after its commit, as before.

Each request thread of a worker has its own connection to the process and waits on it for its answer: no
thread of the worker hands anything to another. Waking another thread while holding the GIL was the
hand-off's main cost: the woken thread takes the CPU from the waker, which cannot run Python meanwhile
(bench/README.md, round 5). The process itself is one thread: it reads whatever the connections sent while
it was storing the last batch, stores that as the next batch, and replies on each connection.

The process is a speed-up, never a single point of failure, whether it dies or hangs: a worker that cannot
reach it, whose connection breaks, or that gets no answer within ANSWER_SECONDS stores with its own writer
thread, and for AWAY_SECONDS all that worker's requests do. A submission the process got but did not answer
may be stored by both: the unique index on the idempotency key stores it once, and the second writer answers
with the stored row. The master pings the process every second (a stopped process still accepts connections,
so only an answer shows it is alive); one that does not answer within HANG_SECONDS is killed, which releases
the database locks it held, and started again. The rules, the transaction and the unique indexes are
intake's, whichever process runs them.

Wire format: Unix SOCK_SEQPACKET messages (each arrives whole, or not at all), one `marshal`led tuple of
plain values each (unlike pickle, reading one never runs code). The socket lives in a directory only the
server's user can open. SOCK_SEQPACKET on Unix sockets is Linux's; elsewhere the workers store themselves.
"""
import logging
import marshal
import os
import selectors
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
# How long a request thread waits for the process's answer before it stores the submission itself. A batch
# takes milliseconds; a process that takes this long is stopped, swapping or stuck behind a lock.
ANSWER_SECONDS = float(os.environ.get("XINQIAO_WRITER_ANSWER_SECONDS", "2"))
AWAY_SECONDS = 5.0                          # after a missed answer, the worker stores itself this long
# The master kills a process that listens and then does not answer its pings for this long, and starts another.
HANG_SECONDS = float(os.environ.get("XINQIAO_WRITER_HANG_SECONDS", "2"))
PING, PONG = marshal.dumps(("ping",)), marshal.dumps(("pong",))
MAX_MESSAGE = 64 * 1024                     # a questionnaire is ~0.3 kB; anything bigger is stored by the worker


def _stuck(pid, window=1.0) -> bool:
    """Whether process `pid` is stopped, gone, or used no CPU at all for `window` seconds: hung, not merely slow.

    On a machine short of CPU the writer can take seconds to answer while it works; killing it or passing it
    by then only adds work (the soak test saw exactly that). A stopped process, or one waiting for seconds
    on something that never comes, is what the deadline and the heartbeat are for.
    """
    def sample():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[11]) + int(fields[12])  # state; user + system CPU time in ticks

    try:
        state, before = sample()
        if state in "TtZX":
            return True
        time.sleep(window)
        state, after = sample()
    except (OSError, ValueError, IndexError):
        return not os.path.exists(f"/proc/{pid}")  # no /proc (not Linux): only the deadline decides
    return state in "TtZX" or after == before


def _peer_pid(sock):
    """The pid of the process at the other end of a Unix socket (Linux), or None."""
    try:
        return struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
    except (AttributeError, OSError, struct.error):
        return None


def _socket() -> socket.socket:
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def supported() -> bool:
    """Whether this system has SOCK_SEQPACKET Unix sockets (Linux does; macOS does not)."""
    try:
        _socket().close()
        return True
    except (AttributeError, OSError):
        return False


# --- in each worker: hand submissions to the process ---------------------------------------------------------

def writer_for(app):
    """The writer a worker's requests use: the shared process when the master started one, else its own thread."""
    local = intake.Writer(app)
    path = os.environ.get(SOCKET_ENV)
    return RemoteWriter(path, local) if path else local


def _submission_message(sub) -> bytes:
    return marshal.dumps((sub.campaign_id, sub.student_id, sub.scale_code, sub.scale_version, sub.answers,
                          sub.idempotency_key, sub.started_at.isoformat() if sub.started_at else None,
                          sub.received_at.isoformat(), sub.session_generation))


class RemoteWriter:
    """Sends a submission to the writer process on the request thread's own connection and waits there for the
    answer, at most ANSWER_SECONDS; stores locally when the process is away, broken or silent."""

    def __init__(self, path: str, local: intake.Writer):
        self.path, self.local = path, local
        self._thread = threading.local()  # .connection: (pid, socket, epoch, writer's pid) of this request thread
        self._away_until = 0.0            # until then this worker's requests store themselves
        self._epoch = 0                   # connections made before the last missed answer are not used again

    def submit(self, sub: intake.Submission, timeout: float) -> intake.Receipt:
        started = time.monotonic()
        try:
            message = _submission_message(sub)
        except ValueError:  # answers marshal cannot carry: not valid answers for any scale
            return self.local.submit(sub, timeout)
        if len(message) > MAX_MESSAGE:
            return self.local.submit(sub, timeout)
        deadline = min(ANSWER_SECONDS, timeout)
        for _attempt in (1, 2):
            sock = self._connection()
            if sock is None:
                return self.local.submit(sub, timeout)
            try:
                sock.settimeout(deadline)
                sock.send(message)
                break
            except OSError:
                # Not sent: the process this thread knew has gone (perhaps restarted since). Try a new connection.
                self._close()
        else:
            return self.local.submit(sub, timeout)
        answer = self._answer(sock, started, deadline, timeout)
        if not answer:
            # Stopped, stuck or gone, perhaps with the submission stored: this worker stores it (once, by its
            # key) and keeps away from the process for a while; the master restarts a process that hangs.
            self._close()
            self._give_up_on_process("did not answer within %.1f s" % deadline if answer is None else "went away")
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise intake.SubmissionTimeout("no answer from the submission writer process")
            return self.local.submit(sub, remaining)
        key, kind, *rest = marshal.loads(answer)
        if key != sub.idempotency_key:  # never someone else's receipt
            self._close()
            raise intake.NotStored("an answer for another submission")
        outcome = _outcome(sub, kind, rest)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _answer(self, sock, started, deadline, timeout):
        """The process's answer; None when it is stopped or stuck (or the request's time is up), b"" when it went away.
        Past the deadline a process that is still working (on a machine short of CPU) is waited for."""
        while True:
            try:
                return sock.recv(MAX_MESSAGE)
            except TimeoutError:
                pid = self._thread.connection[3] if getattr(self._thread, "connection", None) else None
                left = timeout - (time.monotonic() - started)
                if pid is None or left <= 1.0 or _stuck(pid):
                    return None
                sock.settimeout(max(0.1, min(deadline, left - 1.0)))
            except OSError:
                return b""

    def _give_up_on_process(self, why):
        self._epoch += 1
        self._away_until = time.monotonic() + AWAY_SECONDS
        logger.warning("submission writer process %s: storing in this worker for %.0f s", why, AWAY_SECONDS)

    def _connection(self):
        if time.monotonic() < self._away_until:
            return None
        known = getattr(self._thread, "connection", None)
        # after gunicorn's fork the parent's is not ours; one from before a missed answer may lead to a hung process
        if known is not None and known[0] == os.getpid() and known[2] == self._epoch:
            return known[1]
        self._close()
        sock = _socket()
        try:
            sock.settimeout(RECONNECT_SECONDS)
            sock.connect(self.path)
        except OSError:
            sock.close()
            self._away_until = time.monotonic() + RECONNECT_SECONDS
            logger.warning("submission writer process not reachable at %s: storing in this worker", self.path)
            return None
        self._thread.connection = (os.getpid(), sock, self._epoch, _peer_pid(sock))
        return sock

    def _close(self):
        known = getattr(self._thread, "connection", None)
        self._thread.connection = None
        if known is not None and known[0] == os.getpid():
            known[1].close()


def _outcome(sub, kind, rest):
    """The Receipt, refusal or failure an answer carries; sets `sub.mail_pending`."""
    if kind == "stored":
        response_id, received_at, created, crisis, sub.mail_pending = rest
        return intake.Receipt(response_id, datetime.fromisoformat(received_at), created, crisis)
    if kind == "refused":
        return intake.ScreeningError(*rest)
    return intake.NotStored(rest[0] if rest else "not stored")


# --- the process ----------------------------------------------------------------------------------------------

def _answer(sub) -> bytes:
    outcome = sub.outcome
    if isinstance(outcome, intake.Receipt):
        answer = ("stored", outcome.response_id, outcome.received_at.isoformat(), outcome.created,
                  outcome.show_crisis_resources, sub.mail_pending)
    elif isinstance(outcome, intake.ScreeningError):
        answer = ("refused", outcome.code, outcome.item)
    else:
        answer = ("failed", type(outcome).__name__)
    return marshal.dumps((sub.idempotency_key,) + answer)


def _reply(sock, sub):
    try:
        sock.send(_answer(sub))
    except OSError:
        pass  # the request stopped waiting (timeout, worker gone): the client retries with its key


def _reply_raw(sock, message):
    try:
        sock.send(message)
    except OSError:
        pass


class _Intake:
    """The process's one thread: accepts connections, reads submissions, stores them a batch at a time."""

    def __init__(self, listener, writer, registry):
        self.writer, self.registry = writer, registry
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)

    def run(self):
        while True:
            batch = self._receive(None)
            if 1 < len(batch) < intake.MAX_BATCH:
                batch += self._receive(GATHER_SECONDS)
            if batch:
                self.writer.write_batch(batch)  # replies on each connection after the commit (on_finish)

    def _receive(self, timeout):
        batch = []
        for key, _events in self.selector.select(timeout):
            sock = key.fileobj
            if key.data is None:  # the listener: a request thread connects
                try:
                    connection, _ = sock.accept()
                except OSError:
                    continue
                connection.setblocking(False)
                self.selector.register(connection, selectors.EVENT_READ, "connection")
                continue
            try:
                message = sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                continue
            except OSError:
                message = b""
            if message == PING:  # the master asks whether this process is alive (_Supervisor.watch)
                _reply_raw(sock, PONG)
                continue
            if not message:  # the request thread or its worker is gone
                self.selector.unregister(sock)
                sock.close()
                continue
            sub = self._submission(message)
            if sub is None:
                self.selector.unregister(sock)
                sock.close()  # the request thread sees the connection end: "not stored, try again"
                continue
            sub.on_finish = lambda done, sock=sock: _reply(sock, done)
            batch.append(sub)
        return batch

    def _submission(self, message):
        try:
            (campaign_id, student_id, scale, version, answers, key, started_at, received_at,
             generation) = marshal.loads(message)
            return intake.prepare(self.registry, campaign_id, student_id, scale, version, answers, key,
                                  datetime.fromisoformat(started_at) if started_at else None,
                                  datetime.fromisoformat(received_at), waitable=False, session_generation=generation)
        except Exception:  # a message this process cannot read
            logger.exception("unreadable submission from a worker")
            return None


def serve(path: str, parent_pid: int, app_uri: str) -> None:
    """Load the app gunicorn serves, listen on `path`, store what the workers send."""
    from gunicorn.util import import_app

    os.environ.pop(SOCKET_ENV, None)  # this process stores itself
    app = import_app(app_uri)
    listener = _socket()
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(256)  # every request thread of every worker connects once

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
    # and at once where Linux can: the master's supervisor thread that started it lives as long as the master
    from app.core.serving import die_with_parent, freeze_loaded_objects
    die_with_parent(parent_pid)
    logger.info("submission writer process %s ready on %s", os.getpid(), path)
    freeze_loaded_objects()
    _Intake(listener, intake.Writer(app), app.extensions["scales"]).run()


# --- gunicorn master hooks (gunicorn.conf.py) ------------------------------------------------------------------

SOCKET_DIR_PREFIX = "xinqiao-writer-"


def _remove_stale_socket_dirs(older_than_s=60):
    """Socket directories of servers that were killed (nothing cleaned up after them): nobody listens there."""
    for directory in Path(tempfile.gettempdir()).glob(SOCKET_DIR_PREFIX + "*"):
        try:
            status = directory.stat()
            if status.st_uid != os.getuid() or time.time() - status.st_mtime < older_than_s:
                continue  # another user's, or perhaps a server starting right now
            probe = _socket()
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
        if getattr(self, "_ping", None) is not None:
            self._ping.close()
        self._ping = None  # a connection to the process that answers pings
        # The socket of the process before (dead now): the new one is loading the app until its socket is there.
        if os.path.exists(self.path):
            os.unlink(self.path)
        return subprocess.Popen([sys.executable, "-m", "app.screening.writer_process"], env=self.env)

    def wait_until_listening(self, timeout_s=60) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None and not os.path.exists(self.path):
            time.sleep(0.05)
        return os.path.exists(self.path)

    def watch(self):
        pause = 1.0
        while True:  # never ends: a process this thread started dies with it (die_with_parent)
            time.sleep(pause)
            if self.stopping:
                continue
            if self.process.poll() is None:
                if self._alive() or not _stuck(self.process.pid):
                    continue  # answering, or working on a machine short of CPU: not hung
                # Stopped (SIGSTOP), deadlocked or swapping: the workers already store themselves; killing it
                # releases the database locks it may hold, so that they can.
                self.log.error("the submission writer process %s did not answer for %.0f s and is stopped or stuck; "
                               "ending it and starting another", self.process.pid, HANG_SECONDS)
                self.process.kill()
                self.process.wait()
            else:
                self.log.error("the submission writer process ended (%s); starting it again",
                               _how_it_ended(self.process.returncode))
            # A process that dies at once again and again (a broken install) is retried less and less often.
            pause = 1.0 if time.monotonic() - self.started_at > 30 else min(pause * 2, 60.0)
            self.process = self._start()
            _count_restart()

    def _alive(self) -> bool:
        """Whether the process answers a ping within HANG_SECONDS (or is still starting: it loads the app first)."""
        try:
            if self._ping is None:
                self._ping = _socket()
                self._ping.settimeout(HANG_SECONDS)
                self._ping.connect(self.path)
            self._ping.send(PING)
            if self._ping.recv(64) == PONG:
                return True
        except OSError:
            pass
        if self._ping is not None:
            self._ping.close()
            self._ping = None
        # Without a socket it is still loading the app (it listens once loaded); a process that listens answers
        # within HANG_SECONDS, even one that was stopped before its first ping (it used to get a minute).
        return not os.path.exists(self.path) and time.monotonic() - self.started_at < 60

    def stop(self):
        self.stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)  # its default action ends the process; SIGTERM it ignores
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def _count_restart():
    """/metrics counts the restarts (xinqiao_writer_process_restarts_total); imported here, after the master set
    up the metrics directory (app/core/serving.py), so that the count is written where the workers read it."""
    from app.monitoring import metrics

    metrics.count_writer_restart()


def when_ready(server):
    """Start the writer process before the workers and tell them where it listens (they inherit the setting)."""
    if not supported():
        server.log.warning("no SOCK_SEQPACKET Unix sockets here: each worker stores submissions itself")
        return
    _remove_stale_socket_dirs()
    supervisor = server.xinqiao_writer = _Supervisor(server.app.app_uri, server.log)
    if supervisor.wait_until_listening():
        os.environ[SOCKET_ENV] = supervisor.path
    else:  # the workers store with their own threads: slower, just as safe
        server.log.error("the submission writer process did not start; workers store in-process")
    threading.Thread(target=supervisor.watch, daemon=True, name="xinqiao-writer-supervisor").start()


def _how_it_ended(returncode: int) -> str:
    """For the log. gunicorn's master reaps every child in its SIGCHLD handler, often before poll() can: Python then
    reports 0, which said "exit 0" after a SIGKILL. The writer never exits 0 while its master lives."""
    if returncode and returncode < 0:
        return f"killed by signal {-returncode}"
    if returncode:
        return f"exit {returncode}"
    return "reaped by the server before its status was read: killed or crashed"


def on_exit(server):
    """After the workers have stopped: end the writer process. Nobody waits for its answers any more; a batch
    it was storing is committed whole or not at all, and no client was told it was stored."""
    supervisor = getattr(server, "xinqiao_writer", None)
    if supervisor is not None:
        supervisor.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="[writer %(process)d] %(levelname)s %(message)s")
    serve(os.environ[SERVE_ENV], int(os.environ[PARENT_ENV]), os.environ[APP_ENV])
