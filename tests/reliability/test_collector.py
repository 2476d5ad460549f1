"""The garbage collector leaves the loaded app alone in the server's processes (app/core/serving.py): a full
collection walked ~176,000 objects, 60-75 ms with the interpreter lock held, while requests and submissions waited."""
import gc
import runpy

from app.core import serving
from tests.reliability.server import ROOT


def test_a_worker_freezes_what_it_loaded_and_gunicorn_calls_it_after_loading_the_app():
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert hooks["post_worker_init"] is serving.post_worker_init  # gunicorn runs it once the app is loaded
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        serving.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # the interpreter, pytest and the app: out of the collector's reach
    finally:
        gc.unfreeze()

