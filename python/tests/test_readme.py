"""Every ```python block of python/README.md (and of the root README) runs (from the repository's root) and its
asserts hold."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
ROOT_README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = [b for r in (README, ROOT_README) for b in re.findall(r"```python\n(.*?)```", r.read_text(), re.S)]


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_example(i):
    exec(compile(BLOCKS[i], f"readme-block{i}", "exec"), {"__name__": f"readme_{i}"})


def test_docstring_examples():
    import doctest

    import spoolscan

    failed, tried = doctest.testmod(spoolscan)
    assert tried > 0 and failed == 0
