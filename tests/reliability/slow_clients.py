"""Slow clients: connections that send a request's head a line at a time and never finish it (tests, bench/soak)."""
import random
import socket
import ssl
import threading
import time


def plain(port, host="127.0.0.1"):
    return lambda: socket.create_connection((host, port), timeout=5)


def tls(port, cafile, host="127.0.0.1"):
    context = ssl.create_default_context(cafile=str(cafile))

    def open_():
        return context.wrap_socket(socket.create_connection((host, port), timeout=5), server_hostname=host)

    return open_


class SlowClients:
    """`count` connections that send a request's head a line at a time, a line every `every` seconds, for ever:
    each one the server closes is opened again (as an attacker, or a crowd of very bad phones, would).
    `opener` makes a connected socket: a port number for plain TCP on 127.0.0.1, or plain()/tls()."""

    def __init__(self, opener, count, every=(1, 3), seed=7):
        self.opener = plain(opener) if isinstance(opener, int) else opener
        self.count, self.every, self.closed_by_server, self.opened = count, every, 0, 0
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="slow-clients")

    def _open(self):
        sock = self.opener()
        sock.sendall(b"POST /api/v1/student-sessions HTTP/1.1\r\nHost: school\r\n")
        sock.setblocking(False)
        self.opened += 1
        return sock

    def _closed(self, sock) -> bool:
        try:
            return sock.recv(4096) == b""  # an answer (408, 400) or the end: the server cut it off
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except OSError:
            return True

    def _run(self):
        slots = [[self._open(), time.monotonic() + self.rng.uniform(*self.every)] for _ in range(self.count)]
        while not self.stop.is_set():
            now = time.monotonic()
            for slot in slots:
                if slot[1] > now:
                    continue
                closed = self._closed(slot[0])
                if not closed:
                    try:
                        slot[0].send(b"X-Slow-%d: %s\r\n" % (self.rng.randrange(10**6), b"z" * 20))
                    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        pass
                    except OSError:
                        closed = True
                if closed:
                    self.closed_by_server += 1
                    slot[0].close()
                    try:
                        slot[0] = self._open()
                    except OSError:
                        slot[1] = now + 1
                        continue
                slot[1] = now + self.rng.uniform(*self.every)
            time.sleep(0.05)
        for sock, _ in slots:
            sock.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(max(self.every) + 0.5)  # every slow connection has begun its head
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
