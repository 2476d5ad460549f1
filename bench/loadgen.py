"""A small closed-loop HTTP/1.1 load generator (asyncio, keep-alive) and an open-loop class burst.

It sends prepared request bytes and parses only the status line and Content-Length, so that the
client costs little CPU next to the server it measures (both share this machine's cores). Every
request is bounded: the loops stop after a fixed number of requests or a timeout.
"""
import asyncio
import gc
import random
import time

TIMEOUT_S = 30


def build_request(method: str, path: str, body: bytes = b"", headers: dict | None = None, keep_alive=True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json",
             "Connection: " + ("keep-alive" if keep_alive else "close")]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method != "GET":
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_request(raw: bytes):
    """(method, path, headers, body) of a request built by build_request (without Host and Content-Length)."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    headers.pop("Content-Length", None)
    headers.pop("Host", None)
    return method, path, headers, body


async def _read_response(reader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def summarise(latencies, statuses, elapsed):
    lat = sorted(latencies)
    ok = sum(1 for s in statuses if 200 <= s < 300)
    return {
        "requests": len(statuses), "ok": ok, "errors": len(statuses) - ok,
        "seconds": round(elapsed, 3), "rps": round(len(statuses) / elapsed, 1) if elapsed else None,
        "p50_ms": round(percentile(lat, 50) * 1000, 2) if lat else None,
        "p90_ms": round(percentile(lat, 90) * 1000, 2) if lat else None,
        "p99_ms": round(percentile(lat, 99) * 1000, 2) if lat else None,
        "max_ms": round(lat[-1] * 1000, 2) if lat else None,
    }


async def _closed_loop(port, requests, concurrency):
    queue = list(reversed(requests))
    latencies, statuses = [], []

    async def client():
        reader = writer = None
        while queue:
            request = queue.pop()
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            start = time.perf_counter()
            writer.write(request)
            status, _, close = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            statuses.append(status)
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(concurrency))), TIMEOUT_S * 10)
    return summarise(latencies, statuses, time.perf_counter() - start)


def _without_collector_pauses(run):
    """Run `run()` with every object alive now out of the garbage collector's reach.

    The benchmark's process has loaded the app (to seed the database): a full collection walks all of it, 60-75 ms
    in which no client sends or reads, and that pause would be counted as the server's latency (bench/README.md,
    round 7).
    """
    gc.collect()
    gc.freeze()
    try:
        return run()
    finally:
        gc.unfreeze()


def closed_loop(port: int, requests: list[bytes], concurrency: int = 50) -> dict:
    """`concurrency` clients on keep-alive connections send the requests as fast as answered."""
    return _without_collector_pauses(lambda: asyncio.run(_closed_loop(port, requests, concurrency)))


async def _burst(port, requests, window_s, seed):
    rng = random.Random(seed)
    offsets = sorted(rng.uniform(0, window_s) for _ in requests)
    latencies, statuses = [], []
    t0 = time.perf_counter()

    async def student(request, offset):
        await asyncio.sleep(max(0.0, t0 + offset - time.perf_counter()))
        start = time.perf_counter()  # a phone opens its own connection
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        status, _, _ = await _read_response(reader)
        latencies.append(time.perf_counter() - start)
        statuses.append(status)
        writer.close()

    await asyncio.wait_for(asyncio.gather(*(student(r, o) for r, o in zip(requests, offsets))), TIMEOUT_S)
    return summarise(latencies, statuses, time.perf_counter() - t0)


def burst(port: int, requests: list[bytes], window_s: float = 1.0, seed: int = 0) -> dict:
    """Open loop: each request starts at a random moment within `window_s`, on its own connection."""
    return _without_collector_pauses(lambda: asyncio.run(_burst(port, requests, window_s, seed)))
