"""`yoshin-kiosk`: The Textual kiosk: resident questionnaire, staff entry, technician screens."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """The Textual kiosk: resident questionnaire, staff entry, technician screens."""


if __name__ == "__main__":
    main()
