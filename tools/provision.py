"""`yoshin-provision`: technician provisioning, certificate renewal and decommissioning of an appliance."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """Provision, renew and decommission a yoshin appliance (technicians)."""


if __name__ == "__main__":
    main()
