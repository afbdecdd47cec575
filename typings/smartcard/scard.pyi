# pyscard's low-level SCard API (constants and SCard* functions), untyped: every name is Any.
from typing import Any

def __getattr__(name: str) -> Any: ...
