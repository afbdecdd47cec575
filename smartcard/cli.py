"""`yoshin-card`: My Number card access over PC/SC (readers, status, face read, JPKI auth)."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """My Number card access over PC/SC (readers, status, face read, JPKI auth)."""


if __name__ == "__main__":
    main()
