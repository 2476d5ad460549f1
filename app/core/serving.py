"""How gunicorn's workers listen: gunicorn.conf.py's `on_starting` hook (the benchmark's settings use it too)."""
import os
import socket

from gunicorn import util


def on_starting(server):
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
