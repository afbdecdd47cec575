"""`yoshin-host`: run the municipal host service and administer it (devices, residents, staff, audit)."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from yoshin.domain.i18n import BilingualError
from yoshin.host import audit, backup, devices, exports, intake, policy, retention, staff, store, technicians, trust
from yoshin.host.pki import HostPki
from yoshin.host.server import HostServer, HostService, NotInitialised

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/host"), show_default=True,
    help="Where the database, keys and the development CA live.",
)  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _service(data_dir: Path) -> HostService:
    """The existing host in `data_dir`; a directory `init` never made is an error, never created."""
    try:
        return HostService.open_existing(data_dir)
    except NotInitialised as error:
        _fail(error)
        raise  # not reached


def _fail(error: BilingualError) -> NoReturn:
    click.echo(str(error.message), err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """The municipal host service (mutual-TLS intake, identity, registry, staff, audit) and its admin commands."""


@main.command()
@data_dir_option
@click.option(
    "--database", help="postgresql://... to record in <data dir>/host.toml (default: the SQLite file host.db)."
)
def init(data_dir: Path, database: str | None) -> None:
    """Create a host data directory: keys, the development CA, the database. Refuses an existing one."""
    if HostService.initialised(data_dir):
        click.echo(f"{data_dir} は既に初期化されています / {data_dir} is already a host data directory", err=True)
        sys.exit(1)
    if database:
        store.write_config(data_dir, database)
    service = HostService.open(data_dir)
    with service.db.transaction() as tx:
        audit.append(tx, _now(), "*", "admin", "cli", "host.init", str(data_dir), "ok")
    click.echo(json.dumps({"data_dir": str(data_dir), "ca_fingerprint": service.pki.ca_fingerprint}))


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (the closed network).")
@click.option("--port", type=int, default=8443, show_default=True, help="Mutual-TLS API port (0: any free port).")
@click.option("--enroll-port", type=int, default=8444, show_default=True, help="Enrollment port (0: any free port).")
@click.option("--production", is_flag=True, help="Use the provided CA and server keys; refuse a DEVELOPMENT CA.")
@click.option(
    "--ca-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Device CA certificate (PEM)."
)
@click.option("--ca-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Device CA key (PEM).")
@click.option(
    "--server-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS server certificate."
)
@click.option("--server-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS server key.")
@click.option(
    "--jlis-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="J-LIS public key (PEM) that signs the card's face data (else [trust] jlis_key in host.toml).",
)
@click.option(
    "--jpki-ca",
    "jpki_cas",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JPKI user-auth CA certificate (PEM); repeatable (else [trust] jpki_cas in host.toml).",
)
@click.option(
    "--test-pki",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/test-pki"),
    show_default=True,
    help="Development only: the card emulator's test anchors, used when none are configured.",
)
@click.option(
    "--database",
    help="postgresql://... (default: `database` in <data dir>/host.toml, else the SQLite file <data dir>/host.db).",
)
def serve(
    data_dir: Path, host: str, port: int, enroll_port: int, production: bool,
    ca_cert: Path | None, ca_key: Path | None, server_cert: Path | None, server_key: Path | None,
    jlis_key: Path | None, jpki_cas: tuple[Path, ...], test_pki: Path, database: str | None,
) -> None:  # fmt: skip
    """Run the host. Embedded defaults create a DEVELOPMENT CA and keys in the data directory on first run,
    and trust the card emulator's test anchors; --production needs the real CA, keys and trust anchors."""
    pki = None
    if production and not (ca_cert and ca_key and server_cert and server_key):
        raise click.UsageError("--production needs --ca-cert, --ca-key, --server-cert and --server-key")
    anchors = _trust_anchors(data_dir, production, jlis_key, list(jpki_cas), test_pki)
    if production:
        assert ca_cert and ca_key and server_cert and server_key
        pki = HostPki.load(ca_key, ca_cert, server_key, server_cert)
        if pki.development:
            raise click.UsageError("production mode refuses a DEVELOPMENT CA")
    if not HostService.initialised(data_dir):
        _fail(NotInitialised(data_dir))
    service = HostService.open(data_dir, production_pki=pki, database=database)
    service.jlis_key, service.jpki_anchors = anchors.jlis_key, list(anchors.jpki_cas)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with HostServer(service, host, port, enroll_port) as server:
        kind = "DEVELOPMENT CA" if service.pki.development else "production CA"
        click.echo(
            f"yoshin host: https://{host}:{server.port} (mutual TLS), "
            f"enrollment https://{host}:{server.enroll_port} ({kind}); card trust: {anchors.describe()}"
        )
        stop.wait()


def _trust_anchors(
    data_dir: Path, production: bool, jlis_key: Path | None, jpki_cas: list[Path], test_pki: Path
) -> trust.TrustAnchors:
    try:
        source = "the options" if jlis_key or jpki_cas else f"{data_dir / trust.CONFIG_FILE}"
        configured_jlis, configured_cas = trust.configured(data_dir)
        jlis_key, jpki_cas = jlis_key or configured_jlis, jpki_cas or configured_cas
        if jlis_key or jpki_cas:
            anchors = trust.load(jlis_key, jpki_cas, source)
        elif production:
            anchors = trust.TrustAnchors(None)
        else:
            from yoshin.devtools.dev_pki import DevPki  # development only: make the emulator's anchors if missing

            DevPki.load_or_create(test_pki)
            anchors = trust.development(test_pki)
    except trust.TrustError as error:
        raise click.UsageError(str(error)) from None
    if production and not anchors.complete:
        raise click.UsageError(
            "production mode needs the J-LIS public key (--jlis-key) and the JPKI CA certificates (--jpki-ca), "
            "or [trust] jlis_key and jpki_cas in host.toml: without them forged card data would be accepted"
        )
    return anchors


@main.group()
def device() -> None:
    """Enrollment tokens, device list, revocation."""


@device.command("token")
@data_dir_option
@click.option("--municipality", required=True, help="自治体コード (6 digits).")
@click.option("--clinic", required=True, help="医療機関コード (10 digits).")
@click.option("--by", "issued_by", required=True, help="The municipal admin's staff ID.")
@click.option("--hours", type=int, default=24, show_default=True)
def device_token(data_dir: Path, municipality: str, clinic: str, issued_by: str, hours: int) -> None:
    """Issue a one-time, expiring enrollment token bound to a municipality and a clinic."""
    service = _service(data_dir)
    try:
        token = devices.issue_token(service.db, municipality, clinic, issued_by, _now(), hours)
    except BilingualError as error:
        _fail(error)
    click.echo(json.dumps({"token": token, "ca_fingerprint": service.pki.ca_fingerprint}))


@device.command("list")
@data_dir_option
@click.option("--municipality")
def device_list(data_dir: Path, municipality: str | None) -> None:
    """List enrolled devices as JSON lines."""
    for row in devices.list_devices(_service(data_dir).db, municipality):
        click.echo(json.dumps(row, ensure_ascii=False))


@device.command("revoke")
@data_dir_option
@click.argument("device_id")
@click.option("--reason", required=True)
@click.option("--by", "actor", required=True)
def device_revoke(data_dir: Path, device_id: str, reason: str, actor: str) -> None:
    """Revoke a lost or stolen device: it is refused (403) from its next request."""
    try:
        devices.revoke(_service(data_dir).db, device_id, reason, actor, _now())
    except BilingualError as error:
        _fail(error)


@main.group()
def residents() -> None:
    """The resident registry."""


@residents.command("import")
@data_dir_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "actor", default="admin", show_default=True, help="Who loads it (named in the audit).")
def residents_import(data_dir: Path, csv_file: Path, actor: str) -> None:
    """Load a municipal extract (CSV) whole or not at all. Bad lines are reported and skipped; a rerun is
    idempotent. Audited per municipality (`registry.import`), in the import's own transaction."""
    with csv_file.open(encoding="utf-8", newline="") as handle:
        try:
            report = _service(data_dir).registry.import_csv(handle, actor=actor, now=_now())
        except BilingualError as error:  # refused whole (nothing loaded)
            _fail(error)
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}", err=True)
    click.echo(json.dumps({"loaded": report.loaded, "errors": len(report.errors)}))


@main.group("staff")
def staff_group() -> None:
    """Individual staff accounts."""


@staff_group.command("add")
@data_dir_option
@click.argument("staff_id")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(staff.ROLES), required=True)
@click.option("--municipality", required=True)
@click.option("--by", "admin_id", help="The municipal administrator asking.")
@click.option("--approved-by", "approver_id", help="A second municipal administrator approving (control 14).")
@click.option(
    "--first-admin", is_flag=True, help="Only for a municipality's first two administrators: no approval yet."
)
def staff_add(
    data_dir: Path, staff_id: str, name: str, role: str, municipality: str, admin_id: str | None,
    approver_id: str | None, first_admin: bool,
) -> None:  # fmt: skip
    """Add a staff member. Standard input: the new member's password, then (with --by/--approved-by) the
    asking and the approving administrators' passwords, one a line."""
    password = sys.stdin.readline().rstrip("\n")
    service = _service(data_dir)
    try:
        if role == technicians.ROLE:
            raise staff.StaffError(
                "技術担当者は名簿とともに yoshin-host technician add で追加します",
                "technicians are added with their roster entry: `yoshin-host technician add`",
            )
        approval = None
        if first_admin:
            if role != "municipal_admin" or staff.admin_count(service.db, municipality) >= 2:
                raise staff.StaffError(
                    "承認なしで追加できるのは最初の管理者2名だけです",
                    "--first-admin is only for a municipality's first two municipal_admins",
                )
        elif not (admin_id and approver_id):
            raise staff.StaffError(
                "追加には管理者2名（--by と --approved-by）が必要です",
                "adding staff needs --by and --approved-by (two municipal administrators)",
            )
        else:
            approval = staff.approve(
                service.db, municipality, admin_id, sys.stdin.readline().rstrip("\n"), approver_id,
                sys.stdin.readline().rstrip("\n"), _now(),
            )  # fmt: skip
        staff.add(service.db, staff_id, name, role, municipality, password, _now(), approval)
    except BilingualError as error:
        _fail(error)


@staff_group.command("set-role")
@data_dir_option
@click.argument("staff_id")
@click.option("--role", type=click.Choice(staff.ROLES), required=True)
@click.option("--municipality", required=True)
@click.option("--by", "admin_id", required=True)
@click.option("--approved-by", "approver_id", required=True)
def staff_set_role(
    data_dir: Path, staff_id: str, role: str, municipality: str, admin_id: str, approver_id: str
) -> None:
    """Change a member's role with a second administrator's approval. Standard input: both passwords."""
    service = _service(data_dir)
    try:
        approval = staff.approve(
            service.db, municipality, admin_id, sys.stdin.readline().rstrip("\n"), approver_id,
            sys.stdin.readline().rstrip("\n"), _now(),
        )  # fmt: skip
        staff.set_role(service.db, staff_id, role, approval, _now())
    except BilingualError as error:
        _fail(error)


@staff_group.command("register-card")
@data_dir_option
@click.argument("staff_id")
@click.option(
    "--certificate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The staff member's JPKI user-auth certificate (DER, from `yoshin-card auth`).",
)
@click.option("--by", "actor", required=True)
def staff_register_card(data_dir: Path, staff_id: str, certificate: Path, actor: str) -> None:
    """Make the staff member's own My Number card a required second factor at login."""
    try:
        staff.register_card(_service(data_dir).db, staff_id, certificate.read_bytes(), actor, _now())
    except BilingualError as error:
        _fail(error)


@staff_group.command("unlock")
@data_dir_option
@click.argument("staff_id")
@click.option("--by", "admin_id", required=True, help="The municipal administrator asking.")
@click.option("--approved-by", "approver_id", required=True, help="A second municipal administrator approving.")
def staff_unlock(data_dir: Path, staff_id: str, admin_id: str, approver_id: str) -> None:
    """Unlock a locked ID now (else it opens by itself after its delay). Standard input: the asking
    administrator's password, then the approving administrator's, one a line."""
    admin_password = sys.stdin.readline().rstrip("\n")
    approver_password = sys.stdin.readline().rstrip("\n")
    try:
        staff.unlock(_service(data_dir).db, staff_id, admin_id, admin_password, approver_id, approver_password, _now())
    except BilingualError as error:
        _fail(error)
    click.echo(json.dumps({"unlocked": staff_id, "by": admin_id, "approved_by": approver_id}))


@staff_group.command("deactivate")
@data_dir_option
@click.argument("staff_id")
def staff_deactivate(data_dir: Path, staff_id: str) -> None:
    """Deactivate on transfer or retirement; open sessions end at once."""
    try:
        staff.deactivate(_service(data_dir).db, staff_id, _now())
    except BilingualError as error:
        _fail(error)


@staff_group.command("export-rights")
@data_dir_option
@click.option("--municipality", required=True)
def staff_export(data_dir: Path, municipality: str) -> None:
    """The ID list, for reconciliation with the rights table (JSON)."""
    click.echo(json.dumps(staff.rights_table(_service(data_dir).db, municipality), ensure_ascii=False, indent=2))


@main.group("policy")
def policy_group() -> None:
    """What a municipality requires of its appliances (control 4: reception's identity check)."""


@policy_group.command("reception-check")
@data_dir_option
@click.option("--municipality", required=True)
@click.argument("setting", type=click.Choice(["required", "optional", "show"]), default="show")
@click.option("--by", "admin_id", help="The municipal administrator asking (not for `show`).")
@click.option("--approved-by", "approver_id", help="A second municipal administrator approving (control 14).")
def policy_reception_check(
    data_dir: Path, municipality: str, setting: str, admin_id: str | None, approver_id: str | None
) -> None:
    """Require (or not) reception's identity check before the card step; `show` prints the setting. A
    change needs --by and --approved-by; standard input: their passwords, one a line."""
    db = _service(data_dir).db
    if setting != "show":
        try:
            if not (admin_id and approver_id):
                raise staff.StaffError(
                    "変更には管理者2名（--by と --approved-by）が必要です",
                    "a change needs --by and --approved-by (two municipal administrators)",
                )
            approval = staff.approve(
                db, municipality, admin_id, sys.stdin.readline().rstrip("\n"), approver_id,
                sys.stdin.readline().rstrip("\n"), _now(),
            )  # fmt: skip
            policy.set_reception_required(db, municipality, setting == "required", approval, _now())
        except BilingualError as error:
            _fail(error)
    click.echo(json.dumps({"municipality": municipality, **policy.policy_answer(db, municipality)}))


@main.group("technician")
def technician_group() -> None:
    """The technician roster (control 27): individual technician IDs, each approved by two administrators."""


@technician_group.command("add")
@data_dir_option
@click.argument("staff_id")
@click.option("--name", required=True)
@click.option("--municipality", required=True)
@click.option("--company", required=True, help="The contractor the technician works for (委託先).")
@click.option("--location", "work_location", required=True, help="Where they work (業務執行場所).")
@click.option("--by", "admin_id", required=True, help="The municipal administrator asking.")
@click.option("--approved-by", "approver_id", required=True, help="A second municipal administrator approving.")
def technician_add(
    data_dir: Path, staff_id: str, name: str, municipality: str, company: str, work_location: str, admin_id: str,
    approver_id: str,
) -> None:  # fmt: skip
    """Put a technician from the contractor's submitted roster on the host's. Standard input: the
    technician's password, then the asking and the approving administrators' passwords, one a line."""
    password = sys.stdin.readline().rstrip("\n")
    service = _service(data_dir)
    try:
        approval = staff.approve(
            service.db, municipality, admin_id, sys.stdin.readline().rstrip("\n"), approver_id,
            sys.stdin.readline().rstrip("\n"), _now(),
        )  # fmt: skip
        technicians.add(service.db, staff_id, name, municipality, password, company, work_location, _now(), approval)
    except BilingualError as error:
        _fail(error)
    click.echo(json.dumps({"added": staff_id, "by": admin_id, "approved_by": approver_id}))


@technician_group.command("list")
@data_dir_option
@click.option("--municipality", required=True)
def technician_list(data_dir: Path, municipality: str) -> None:
    """The roster (JSON), to reconcile with the contractor's paper one."""
    click.echo(json.dumps(technicians.roster(_service(data_dir).db, municipality), ensure_ascii=False, indent=2))


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@data_dir_option
def audit_verify(data_dir: Path) -> None:
    """Check every line's HMAC, the chain, its start and its head against the external anchor file.

    Says what it checked; exit 1 when anything is wrong (edited, forged, recomputed, cut or moved)."""
    report = audit.verify(_service(data_dir).db)
    for line in report.checked:
        click.echo(f"checked {line}")
    for problem in report.problems:
        click.echo(f"line {problem.seq}: {problem.problem}", err=True)
    click.echo("audit log intact" if report.intact else f"audit log NOT intact: {len(report.problems)} problem(s)")
    sys.exit(0 if report.intact else 1)


@audit_group.command("anchor")
@data_dir_option
def audit_anchor(data_dir: Path) -> None:
    """Print the chain's head (seq, keyed hash) as JSON, to keep with another party as a second anchor."""
    click.echo(json.dumps(audit.head(_service(data_dir).db)))


@main.command("backup")
@data_dir_option
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(data_dir: Path, target: Path) -> None:
    """Write a consistent copy of the database to TARGET while the host runs (SQLite online backup API,
    or pg_dump for PostgreSQL). Keys and CA files are backed up separately."""
    try:
        backup.backup(store.open_database(store.configured_url(data_dir)), target)
    except backup.BackupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(json.dumps({"backup": str(target)}))


@main.command("restore")
@data_dir_option
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(data_dir: Path, source: Path) -> None:
    """Replace the database with the backup SOURCE (stop the host first), then check the audit chain."""
    db = store.Database(store.configured_url(data_dir))
    try:
        backup.restore(db, source)
    except backup.BackupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    db = store.open_database(store.configured_url(data_dir))  # a backup from an older version is migrated
    db.data_dir = data_dir  # the audit key and the external anchor are outside the database
    report = audit.verify(db)
    for problem in report.problems:
        click.echo(f"line {problem.seq}: {problem.problem}", err=True)
    click.echo(json.dumps({"restored": str(source), "audit_problems": len(report.problems)}))
    sys.exit(0 if report.intact else 1)


@main.command()
@data_dir_option
@click.option("--record-years", type=int, default=5, show_default=True)
@click.option("--log-years", type=int, default=3, show_default=True)
@click.option("--provision-years", type=int, default=7, show_default=True)
def purge(data_dir: Path, record_years: int, log_years: int, provision_years: int) -> None:
    """Apply retention and write an erasure report."""
    try:
        policy = retention.RetentionPolicy(record_years, log_years, provision_years)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    report = retention.purge(_service(data_dir).db, policy, _now(), data_dir / "reports")
    click.echo(json.dumps(dataclasses.asdict(report)))


@main.command()
@data_dir_option
@click.argument("kind", type=click.Choice(["csv", "fhir"]))
@click.option("--municipality", required=True)
@click.option("--by", "actor", required=True)
def export(data_dir: Path, kind: str, municipality: str, actor: str) -> None:
    """Export a municipality's records (never the My Number) as CSV or a FHIR R4 Bundle."""
    service = _service(data_dir)
    if kind == "csv":
        click.echo(exports.export_csv(service.db, municipality, actor, _now()), nl=False)
    else:
        click.echo(
            json.dumps(
                exports.export_fhir(service.db, municipality, service.catalogue, actor, _now()),
                ensure_ascii=False,
                allow_nan=False,  # always valid JSON: a non-finite number is an error, never written
            )
        )


@main.group()
def provisional() -> None:
    """Offline visits waiting for their identity to be resolved."""


@provisional.command("list")
@data_dir_option
@click.option("--municipality", required=True)
def provisional_list(data_dir: Path, municipality: str) -> None:
    """Offline visits whose records are still provisional (a claim not found, referred, or not arrived)."""
    for row in intake.unresolved_visits(_service(data_dir).db, municipality):
        click.echo(json.dumps(row, ensure_ascii=False))


@main.group()
def templates() -> None:
    """The published questionnaire templates and catalogue."""


@templates.command("publish")
@data_dir_option
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path))
def templates_publish(data_dir: Path, output: Path | None) -> None:
    """Sign the templates and catalogue with the host's template key (devices verify it)."""
    text = json.dumps(_service(data_dir).signed_bundle, ensure_ascii=False)
    if output:
        output.write_text(text)
    else:
        click.echo(text)


if __name__ == "__main__":
    main()
