"""Gunicorn settings shared by the product and the hello app in the benchmark (same workers, same threads)."""
import multiprocessing
import os

workers = int(os.environ.get("BENCH_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
# Request threads mostly wait for the submission writer's commit (app/screening/intake.py): more of them
# make bigger batches per commit. The hello app gets the same number.
threads = int(os.environ.get("BENCH_THREADS", "32"))
keepalive = 5
graceful_timeout = 5
backlog = 2048
accesslog = None
errorlog = "-"
loglevel = "warning"
# As the product listens (gunicorn.conf.py): a socket per worker, so that connections are spread evenly.
from app.core.serving import on_starting, post_fork, post_worker_init  # noqa: E402,F401
