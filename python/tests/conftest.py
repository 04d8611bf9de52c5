import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


@pytest.fixture
def root():
    return ROOT


@pytest.fixture
def samples():
    return ROOT / "samples"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    # The README examples and some tests use paths relative to the repository's root.
    monkeypatch.chdir(ROOT)
