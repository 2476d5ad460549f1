"""/metrics under the real server: counters of every worker and of the master (writer process restarts) add up,
whichever worker answers the scrape (prometheus-client's multiprocess mode, set up in app/core/serving.py)."""
import glob
import http.client
import os
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.conftest import GAD7_LOW, PHQ9_LOW, submission
from tests.reliability.server import LiveGunicorn, request
from tests.reliability.test_crash import _wait_until


def _scrape(port) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        assert response.status == 200
        text = response.read().decode()
    finally:
        conn.close()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counters_of_every_worker_and_the_master_add_up_in_each_scrape(app, whole_class, tmp_path):
    server = LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log",
                          workers=2, threads=4).start()
    try:
        students = range(20)

        def answer(i):
            token = whole_class.tokens[i]
            first = request(server.port, "POST", "/api/v1/responses", submission(whole_class, "PHQ-9", PHQ9_LOW),
                            token=token)[0]
            refused = request(server.port, "POST", "/api/v1/responses",
                              submission(whole_class, "GAD-7", GAD7_LOW[:3]), token=token)[0]
            return first, refused

        with ThreadPoolExecutor(max_workers=10) as pool:
            outcomes = list(pool.map(answer, students))
        assert outcomes == [(201, 422)] * len(students)
        pids = {line.split("pid: ")[1].split(")")[0] for line in server.log().splitlines() if "Booting worker" in line}
        assert len(pids) == 2
        for _ in range(6):  # each scrape lands on either worker: every one sums both workers' counts
            samples = _scrape(server.port)
            assert samples[("xinqiao_submissions_stored_total", (("kind", "new"),))] == len(students)
            assert sum(v for (name, _), v in samples.items() if name == "xinqiao_submissions_refused_total") \
                == len(students)
            assert samples[("xinqiao_writer_process_restarts_total", ())] == 0

        writer = server.writer_process()
        os.kill(writer, signal.SIGKILL)
        _wait_until(lambda: server.writer_process() not in (None, writer), timeout=30)
        _wait_until(lambda: _scrape(server.port)[("xinqiao_writer_process_restarts_total", ())] == 1, timeout=10)
        master = server.proc.pid
        assert glob.glob(os.path.join(tempfile.gettempdir(), f"xinqiao-metrics-{master}-*"))
    finally:
        server.stop()
    # The master's exit removes its metrics directory.
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"xinqiao-metrics-{master}-*"))
