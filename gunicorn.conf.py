"""gunicorn settings, read by `gunicorn wsgi:app` started in this directory (`make run`, the reliability tests).

The master starts one submission writer process before the workers and stops it after them
(app/screening/writer_process.py). Each worker listens on a TCP address with a socket of its own, so that
connections are spread evenly over them; each server has a control socket and a metrics directory of its own
(app/core/serving.py). Command-line options override the settings below.
"""
from app.core.serving import on_starting, post_fork, post_worker_init  # noqa: F401  (gunicorn looks the hooks up by name)
from app.screening.writer_process import on_exit, when_ready  # noqa: F401

# gunicorn's gthread worker, with each request's head (and a small body) read by the event loop rather than a
# request thread, and closed when it does not arrive in time: slow clients hold no thread (app/core/worker.py).
worker_class = "app.core.worker.BufferingThreadWorker"
workers = 2
# Request threads mostly wait for the writer's commit: more of them make bigger batches per commit.
threads = 32
graceful_timeout = 10
