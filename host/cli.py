"""`yoshin-host`: the municipal host service (mutual-TLS intake, identity, registry, staff, audit)."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """The municipal host service: mutual-TLS intake, identity resolution, registry, staff, audit."""


if __name__ == "__main__":
    main()
