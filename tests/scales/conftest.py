"""Shared helpers for the scale tests (no Flask)."""

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import screening_scales as ss  # noqa: E402
from screening_scales.loader import DATA_DIR  # noqa: E402


@pytest.fixture(scope="session")
def registry():
    return ss.default_registry()
