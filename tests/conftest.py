"""Shared test fixtures. Component fixtures live in tests/<component>/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yoshin.tools.test_pki import TestPki
from yoshin.tools.virtual_reader import VirtualReader

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def virtual_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualReader]:
    """One isolated pcscd with the vpcd virtual reader for the whole run (one pcscd per machine)."""
    with VirtualReader(tmp_path_factory.mktemp("pcscd")) as reader:
        yield reader


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The J-LIS-style test key and the JPKI test CA, written once for the run."""
    return TestPki.load_or_create(tmp_path_factory.mktemp("test-pki"))
