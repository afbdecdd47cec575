"""Settings shared by both test trees (tests/ and firmware_tests/): Hypothesis profiles, the unit /
functional split, and the one explicit flag that may rewrite the kiosk's screenshots (`--update-snapshots`).

Unit and functional tests: a test is `functional` when it needs a real daemon or interpreter — pcscd with
the virtual reader, the MicroPython unix port, a TLS host server, PostgreSQL, a serial pty — which this
file decides from the fixtures it uses (FUNCTIONAL_FIXTURES), its markers, or an explicit
`@pytest.mark.functional`; every other test is `unit`. `make test-unit` (`pytest -m unit`) runs without
root or daemons; `make test` runs both.

`make test` and CI use the deterministic "ci" profile: every run draws the same examples, so a test
cannot fail by chance, and no example database carries state between runs. To hunt for new failing
examples locally, run with `--hypothesis-profile=explore --hypothesis-seed=N` for several N; each
failure found becomes an explicit `@example` next to its test.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, deadline=None, print_blob=True)
settings.load_profile("ci")


FUNCTIONAL_FIXTURES = frozenset(
    {
        "virtual_reader",  # pcscd in a private mount namespace (root)
        "host",  # a TLS host server on loopback
        "pg_cluster",  # PostgreSQL
        "cable",  # a socat serial pair
        "io_board",  # the I/O board firmware under MicroPython on a pty
        "simulator",  # the same, for the firmware tests
    }
)
FUNCTIONAL_MARKERS = frozenset({"functional", "pcsc", "micropython"})


def is_functional(item: pytest.Item) -> bool:
    if any(item.get_closest_marker(name) is not None for name in FUNCTIONAL_MARKERS):
        return True
    if FUNCTIONAL_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("database_url") == "postgresql"


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.functional if is_functional(item) else pytest.mark.unit)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="rewrite docs/kiosk/*.svg from the screens (refused unless Textual is the version they were made with)",
    )
