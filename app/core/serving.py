"""How gunicorn serves: gunicorn.conf.py's `on_starting` hook (the benchmark's settings use it too).

Each worker listens on its own socket; each server has its own control socket; the processes' metrics counters
are written to a directory of this server's own.
"""
import atexit
import ctypes
import gc
import glob
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from gunicorn import util

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client in every process (app/monitoring/metrics.py)
METRICS_DIR_PREFIX = "xinqiao-metrics-"


def on_starting(server):
    """Before the master binds or starts anything: sockets, control socket, metrics directory."""
    listen_separately(server)
    own_control_socket(server)
    own_metrics_directory()


def listen_separately(server):
    """Give each worker its own listening socket where that is safe (gunicorn's `reuse_port`): the kernel then
    spreads new connections evenly over the workers.

    With one socket shared by all workers, whichever worker wakes first takes the connection. In the benchmark one
    worker often took three quarters of 50 clients' connections, and its interpreter lock then limited all of
    them (bench/README.md, round 6). A whole class connecting within a second is the same pattern.
    """
    separate = separate_sockets_possible(server.cfg.address)
    server.cfg.set("reuse_port", separate)
    if separate:
        server.log.info("each worker listens on its own socket at %s",
                        ", ".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                                  for host, port in server.cfg.address))


def separate_sockets_possible(addresses) -> bool:
    """Whether every address is a TCP address that is free now.

    Not for a Unix socket: each worker would remove the socket file of the one before. Not for sockets handed
    over by systemd or by a gunicorn re-exec: gunicorn ignores them when workers make their own. Not for an address
    already in use: gunicorn's master then says so and stops, where workers binding themselves would fail, be
    started again and fail again for ever.
    """
    if not hasattr(socket, "SO_REUSEPORT") or os.environ.get("LISTEN_FDS") or os.environ.get("GUNICORN_FD"):
        return False
    return bool(addresses) and all(isinstance(address, tuple) and _free(address) for address in addresses)


def _free(address) -> bool:
    family = socket.AF_INET6 if util.is_ipv6(address[0]) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def own_control_socket(server):
    """Gunicorn's control socket (for `gunicornc`) defaults to one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl
    or ~/.gunicorn/gunicorn.ctl): a second server of the same user removes the first one's at its start, and
    its own at its exit. Unless the operator chose a path (--control-socket, as deploy/ does) or none
    (--no-control-socket), each server gets one named after the address it listens on: only one server can
    hold an address, and one that fails to bind stops before it makes its control socket."""
    cfg = server.cfg
    setting = cfg.settings["control_socket"]
    if cfg.control_socket_disable or setting.value != setting.default or not cfg.address:
        return
    first = cfg.address[0]
    name = f"{first[0]}-{first[1]}" if isinstance(first, tuple) else str(first)
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", name)
    cfg.set("control_socket", os.path.join(os.path.dirname(setting.default), f"xinqiao-{name}.ctl"))


def own_metrics_directory():
    """Point prometheus-client's multiprocess mode at a directory of this server's own, empty at the start.

    Workers and the writer process inherit the setting; the scrape sums every process's file. An operator's
    PROMETHEUS_MULTIPROC_DIR (a systemd RuntimeDirectory) is emptied here; otherwise a private temporary
    directory is made and removed when the master exits (or, after a crash, at the next start).
    """
    path = os.environ.get(METRICS_DIR_ENV)
    if path:
        os.makedirs(path, mode=0o700, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.unlink(stale)
    else:
        _remove_stale_metrics_directories()
        master = os.getpid()
        path = tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{master}-")
        os.environ[METRICS_DIR_ENV] = path
        # Forked workers inherit atexit handlers: only the master removes the directory.
        atexit.register(lambda: os.getpid() == master and shutil.rmtree(path, ignore_errors=True))
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported before the setting: metrics made from now on use the files
        values.ValueClass = values.get_value_class()


def _remove_stale_metrics_directories():
    """Directories of masters that were killed (nothing removed them): their pid is gone."""
    for directory in Path(tempfile.gettempdir()).glob(METRICS_DIR_PREFIX + "*"):
        try:
            pid = int(directory.name[len(METRICS_DIR_PREFIX):].split("-", 1)[0])
            if directory.stat().st_uid != os.getuid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(directory, ignore_errors=True)
        except (ValueError, OSError):
            continue


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def post_fork(server, worker):
    """In each new worker: die with the master (gunicorn.conf.py's hook)."""
    die_with_parent(worker.ppid)


def post_worker_init(worker):
    """In each new worker, once the app is loaded: keep the garbage collector off the app's own objects."""
    freeze_loaded_objects()


def freeze_loaded_objects():
    """Move every object alive now (modules, the app, SQLAlchemy's mappers and caches ...) out of the collector's
    reach. A full collection walked all of them, ~176,000 objects: 60-75 ms with the interpreter lock held, in a
    worker (every request waits) or in the submission writer (every submission waiting does); after the freeze
    it takes under 0.1 ms (bench/README.md, round 7). Only objects made later are collected, as before."""
    gc.collect()
    gc.freeze()


def die_with_parent(parent_pid: int) -> bool:
    """Ask Linux to SIGKILL this process the moment its parent dies; whether it could.

    A gunicorn worker whose master was killed (the OOM killer, `kill -9`) notices only at its next loop, then
    serves its requests in flight for the whole graceful timeout, holding the listening port: a server
    started again at once could not bind ("Connection in use") or, with SO_REUSEPORT, shared the port with
    orphans whose writer process was gone. Nothing is lost by dying at once: a request not yet answered was
    not acknowledged, and the client sends it again with its key.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # not Linux: the worker's own parent check remains
        return False
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(0)
    return True
