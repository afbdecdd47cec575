# pyscard ships no type hints. These stubs make `smartcard` mean pyscard to static tools (mypy, pyright)
# even when they run from the repository root, where our own smartcard/ folder would otherwise be taken
# for it (docs/ARCHITECTURE.md, "Layout").
