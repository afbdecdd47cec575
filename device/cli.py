"""`yoshin-device`: The appliance runtime: key store, encrypted queue, forwarder, I/O board and scanner."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """The appliance runtime: key store, encrypted queue, forwarder, I/O board and scanner."""


if __name__ == "__main__":
    main()
