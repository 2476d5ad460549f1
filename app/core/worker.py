"""gunicorn's threaded worker, with a request's head (and a small body) read by the worker's event loop, not a thread.

gunicorn's gthread worker hands a connection to a request thread as soon as its first bytes arrive; the thread
then reads the rest of the headers blocking, for as long as the client takes. A client that sends a header
line every few seconds holds a thread for ever: 70 of them held the 64 request threads of `make run`'s
server, and a class of 50 got nothing for a minute (issue 20). gunicorn has no header timeout to set.

This worker reads a connection's bytes in the worker's event loop (non-blocking, like keep-alive connections
are watched) until the request's head is complete and, when Content-Length announces a body of at most
BODY_BUFFER bytes (every questionnaire, every join), until the body is in too. Only then does a thread
take it, and it never waits on the client. A head not complete within HEAD_SECONDS, or a buffered body not
complete within BODY_SECONDS after it, is closed, as nginx's client_header_timeout and client_body_timeout
do. A slow client costs a socket and a few kilobytes, not a thread; `worker_connections` bounds how many.

The alternatives considered: an async worker (gevent) would change how every thread of the app behaves (the
writer process's per-thread connections, SQLite, the metrics files) for one problem; a Python proxy in front
of `make run` adds a hop and a process to every request and duplicates what nginx does in production
(deploy/nginx). This class is a small subclass of the pinned gunicorn's ThreadWorker; the fast path costs one
non-blocking recv() per request, which has the whole head in one packet.
"""
import errno
import re
import selectors
import time
from collections import deque
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

HEAD_SECONDS = 10.0        # from the connection's (or the kept-alive connection's next request's) first wait
BODY_SECONDS = 30.0        # for a buffered body, after its head
BODY_BUFFER = 256 * 1024   # bodies up to this size are read here; bigger ones (uploads by staff) by the thread
RECV_SIZE = 64 * 1024
_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)
_TRANSFER_OR_EXPECT = re.compile(rb"\r\n(transfer-encoding|expect)[ \t]*:", re.IGNORECASE)


class BufferingThreadWorker(ThreadWorker):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading_conns = deque()  # connections whose request is still arriving, in order of their deadline
        cfg = self.cfg
        # gunicorn's own bound on a request's head: beyond it its parser refuses the request at once
        self.max_head = cfg.limit_request_line + 4 + max(cfg.limit_request_fields, 1) * \
            (max(cfg.limit_request_field_size, 8190) + 2) + 4

    def _buffering(self) -> bool:
        # TLS and HTTP/2 prior knowledge read their own first bytes: those connections go the usual way
        return not self.cfg.is_ssl and getattr(self.cfg, "http2_cleartext", None) not in ("prior-knowledge", "both")

    def accept(self, listener):
        if not self._buffering():
            return super().accept(listener)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        self._read_request(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request is arriving: read it here too."""
        if not self._buffering():
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn)

    def _read_request(self, conn):
        conn.head = bytearray()
        conn.need = None  # bytes of head and body to buffer, once the head is complete
        conn.timeout = time.monotonic() + HEAD_SECONDS
        self.reading_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn, client):
        try:
            data = client.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = None
        if data is None or (not data and not conn.head):  # reset, or closed before a request began
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()
            return
        conn.head += data
        if data and not self._complete(conn):
            return
        # complete, or the client half-closed after part of it: the parser says what it makes of the bytes
        self._stop_reading(conn)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = None
        conn.data_ready = True
        conn.sock.setblocking(True)
        self.enqueue_req(conn)

    def _complete(self, conn) -> bool:
        if conn.need is None:
            end = conn.head.find(_HEAD_END)
            if end < 0:
                return len(conn.head) > self.max_head  # too long a head: the parser refuses it
            head = bytes(conn.head[:end + 2])
            length = _CONTENT_LENGTH.findall(head)
            conn.need = end + 4
            if len(length) == 1 and not _TRANSFER_OR_EXPECT.search(head) and int(length[0]) <= BODY_BUFFER:
                conn.need += int(length[0])
                # the body keeps its own deadline: a slow upload of a questionnaire is not a slow head
                self._move_to_end(conn, time.monotonic() + BODY_SECONDS)
        return len(conn.head) >= conn.need

    def _move_to_end(self, conn, deadline):
        self.reading_conns.remove(conn)
        conn.timeout = deadline
        self.reading_conns.append(conn)  # BODY_SECONDS > HEAD_SECONDS: the deque stays in deadline order

    def _stop_reading(self, conn):
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass
        try:
            self.reading_conns.remove(conn)
        except ValueError:
            pass

    def murder_pending(self):
        """Also close the connections whose request did not arrive in time."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading_conns and self.reading_conns[0].timeout <= now:
            conn = self.reading_conns.popleft()
            try:
                self.poller.unregister(conn.sock)
            except (OSError, KeyError, ValueError):
                pass
            self.nr_conns -= 1
            conn.close()
