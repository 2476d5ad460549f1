"""gunicorn settings, read by `gunicorn wsgi:app` started in this directory (`make run`, the reliability tests).

The master starts one submission writer process before the workers and stops it after them
(app/screening/writer_process.py); command-line options override the settings below.
"""
from app.screening.writer_process import on_exit, when_ready  # noqa: F401  (gunicorn looks the hooks up by name)

worker_class = "gthread"
workers = 2
# Request threads mostly wait for the writer's commit: more of them make bigger batches per commit.
threads = 32
graceful_timeout = 10
