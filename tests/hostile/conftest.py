"""Fixtures of the hostile-input suite: one sandboxed child per module, a case folder per run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.harness import Sandbox, special_files


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    yield box
    box.close()


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the module's cases, with the user's files beside them."""
    root = tmp_path_factory.mktemp("hostile")
    special_files(root / "bystander")
    return root


_counter = itertools.count()


def new_case_dir(arena: Path) -> Path:
    d = arena / f"case{next(_counter)}"
    d.mkdir()
    return d
