"""Shared fixtures of the PII tests."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def bench():
    """bench/pii.py as a module: its corpus builders, look-alike frames and evaluation functions are what the
    regression bars below measure with."""
    spec = importlib.util.spec_from_file_location("bench_pii", ROOT / "bench" / "pii.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
