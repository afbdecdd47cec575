"""`yoshin-provision`: technician provisioning, certificate renewal, self-test and decommissioning."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.device import integrity, provisioning
from yoshin.device.appliance import Appliance
from yoshin.domain.i18n import BilingualError

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True,
    help="The appliance's data directory.",
)  # fmt: skip


def _fail(error: BilingualError) -> None:
    click.echo(str(error.message), err=True)
    for item in getattr(error, "lost", []) or getattr(error, "problems", []):
        click.echo(f"  {item}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """Provision, renew and decommission a yoshin appliance (technicians). See docs/operations.md."""


technician_option = click.option(
    "--technician", "technician_id", required=True,
    help="Your technician ID on the host's roster (control 27); the password is asked (or read from stdin).",
)  # fmt: skip


def _password() -> str:
    return str(click.prompt("技術担当者のパスワード / technician password", hide_input=True, err=True))


@main.command()
@data_dir_option
@technician_option
@click.option(
    "--host", required=True,
    help="The municipal host's address on the closed network: host, host:port or host:port:enroll_port, "
    "several separated by commas (the nodes of one host).",
)  # fmt: skip
@click.option("--port", type=int, default=8443, show_default=True)
@click.option("--enroll-port", type=int, default=8444, show_default=True)
@click.option("--token", required=True, help="The one-time token from `yoshin-host device token`.")
@click.option("--ca-fingerprint", required=True, help="The host CA's SHA-256, given with the token.")
@click.option("--municipality", required=True)
@click.option("--clinic", required=True)
@click.option("--serial", required=True, help="This appliance's serial number.")
@click.option("--place", default="", help="The clinic's name as printed on vaccination records (接種場所).")
@click.option("--production", is_flag=True, help="Refuse development CAs (and, at run time, virtual readers).")
@click.option("--json", "as_json", is_flag=True)
def provision(
    data_dir: Path, technician_id: str, host: str, port: int, enroll_port: int, token: str, ca_fingerprint: str,
    municipality: str, clinic: str, serial: str, place: str, production: bool, as_json: bool,
) -> None:  # fmt: skip
    """Technician login, keys and CSR on the device, enrollment, templates, firmware, self-test, report."""
    appliance = Appliance(data_dir)
    try:
        addresses = provisioning.parse_addresses(host, port, enroll_port)
        technician = provisioning.technician_login(
            appliance, technician_id, _password(), addresses, ca_fingerprint, municipality
        )
        report = provisioning.provision(appliance, technician, token, clinic, serial, production, place)
    except BilingualError as error:
        _fail(error)
    click.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False) if as_json else report.text())


@main.command()
@data_dir_option
@click.option(
    "--if-due", is_flag=True, help=f"Only when the certificate expires within {provisioning.RENEW_DAYS_BEFORE} days."
)
def renew(data_dir: Path, if_due: bool) -> None:
    """Renew the device certificate (the key stays; a new CSR is signed by it)."""
    appliance = Appliance(data_dir)
    try:
        if if_due and not provisioning.renew_if_due(appliance):
            click.echo("not due")
            return
        if not if_due:
            appliance.client().renew()
    except BilingualError as error:
        _fail(error)
    click.echo(f"renewed: valid until {appliance.keystore.certificate().not_valid_after_utc.isoformat()}")


@main.command("self-test")
@data_dir_option
def self_test(data_dir: Path) -> None:
    """Host, queue, templates and certificate checks. Exit 1 when one fails."""
    checks = provisioning.self_test_checks(Appliance(data_dir))
    for item, check in checks.items():
        click.echo(f"{item}: {check.english()}")
    sys.exit(1 if any(check.outcome is provisioning.Outcome.FAILED for check in checks.values()) else 0)


@main.command()
@data_dir_option
@technician_option
@click.option("--force", is_flag=True, help="Erase even if queued records cannot be delivered (they are listed).")
def decommission(data_dir: Path, technician_id: str, force: bool) -> None:
    """Technician login, drain the queue, record a signed erasure certificate at the host, erase every key
    and file (nothing is erased if the host refuses)."""
    appliance = Appliance(data_dir)
    try:
        technician = provisioning.technician_login(appliance, technician_id, _password())
        certificate = provisioning.decommission(appliance, technician.attestation, force)
    except BilingualError as error:
        _fail(error)
    click.echo(json.dumps(certificate, ensure_ascii=False, indent=2))


@main.group()
def manifest() -> None:
    """The signed manifest of installed files (app integrity)."""


@manifest.command("build")
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Ed25519 release key (PEM).",
)
@click.option("--version", "release", required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def manifest_build(key: Path, release: str, output: Path) -> None:
    """Sign the SHA-256 of every installed yoshin file."""
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise click.BadParameter("not an Ed25519 private key", param_hint="--key")
    output.write_text(json.dumps(integrity.build_manifest(private, release), indent=1))


@manifest.command("verify")
@click.option(
    "--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
def manifest_verify(manifest_path: Path, public_key: Path) -> None:
    """Check the installed files against the manifest. Exit 1 on any difference."""
    try:
        integrity.verify_files(manifest_path, public_key)
    except BilingualError as error:
        _fail(error)
    click.echo("installation intact")


if __name__ == "__main__":
    main()
