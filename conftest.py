"""Settings shared by both test trees (tests/ and firmware_tests/): Hypothesis profiles.

`make test` and CI use the deterministic "ci" profile: every run draws the same examples, so a test
cannot fail by chance, and no example database carries state between runs. To hunt for new failing
examples locally, run with `--hypothesis-profile=explore --hypothesis-seed=N` for several N; each
failure found becomes an explicit `@example` next to its test.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, deadline=None, print_blob=True)
settings.load_profile("ci")
