"""The product in the benchmark: bench/gunicorn_conf.py (the hello app's settings) plus the product's hooks."""
import os

exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gunicorn_conf.py")).read())
from app.screening.writer_process import on_exit, when_ready  # noqa: E402,F401
