"""Technician provisioning and the device lifecycle: provision, renew, self-test, decommission.

Provisioning: device keys and CSR made on the device (private keys never leave it) → enrollment with the
one-time token, trusting the host CA only by the fingerprint the admin gave → the certificate, CA pin and
host keys stored → the signed templates and catalogue pulled and verified → the I/O board firmware
(skipped with a note when no board is attached) → a self-test and a report for the technician's records.

Decommission (control 23): drain the queue (refuse unless forced, listing what would be lost) → an
erasure certificate signed by the device key just before it is destroyed and recorded at the host →
cryptographic erase of every key (NIST SP 800-88 purge by cryptographic erase) and deletion of the files.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostAddress, HostClient, enroll, fetch_ca
from yoshin.device.outbox import seal_payload
from yoshin.domain.bundle import verify_bundle
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.protocol import api

RENEW_DAYS_BEFORE = 30
BOARD_VID_PID = (0x2E8A, 0x0005)
ERASE_METHOD = (
    "NIST SP 800-88 Rev. 1 purge: cryptographic erase (keys overwritten and deleted; all data was ciphertext)"
)


class ProvisioningError(BilingualError):
    def __init__(self, ja: str, en: str, lost: list[str] | None = None) -> None:
        super().__init__(Bilingual(ja=ja, en=en))
        self.lost = lost or []


@dataclass
class ProvisioningReport:
    device_id: str
    municipality_code: str
    clinic_code: str
    host: str
    host_ca_fingerprint: str
    certificate_not_after: str
    templates_version: str
    firmware: str
    self_test: dict[str, str] = field(default_factory=dict)
    provisioned_at: str = ""

    def text(self) -> str:
        lines = [
            "yoshin provisioning report",
            *(f"  {key}: {value}" for key, value in asdict(self).items() if key != "self_test"),
        ]
        lines += [f"  self-test {name}: {result}" for name, result in self.self_test.items()]
        return "\n".join(lines)


def provision(
    appliance: Appliance,
    address: HostAddress,
    token: str,
    ca_fingerprint: str,
    municipality_code: str,
    clinic_code: str,
    serial: str,
    production: bool = False,
    place: str = "",
) -> ProvisioningReport:
    ca_pem = fetch_ca(address, ca_fingerprint)
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    if production and "DEVELOPMENT" in ca.subject.rfc4514_string():
        raise ProvisioningError("本番モードでは開発用CAは使用できません", "production mode refuses a development CA")
    answer = enroll(address, ca_pem, appliance.keystore, token, municipality_code, clinic_code, serial)
    appliance.save_host(address)
    if place:
        appliance.save_place(place)
    client = HostClient(appliance.keystore, address)
    templates = pull_templates(appliance, client)
    report = ProvisioningReport(
        device_id=answer["device_id"],
        municipality_code=municipality_code,
        clinic_code=clinic_code,
        host=f"{address.host}:{address.port}",
        host_ca_fingerprint=ca.fingerprint(hashes.SHA256()).hex(),
        certificate_not_after=appliance.keystore.certificate().not_valid_after_utc.isoformat(),
        templates_version=templates,
        firmware=deploy_firmware_if_attached(),
        provisioned_at=appliance.clock().isoformat(timespec="seconds"),
    )
    report.self_test = self_test(appliance)
    return report


def pull_templates(appliance: Appliance, client: HostClient) -> str:
    """Download the signed bundle, verify it with the template key from enrollment, keep it (still signed)."""
    signed = client.call("GET", api.TEMPLATES)["bundle"]
    bundle = verify_bundle(signed, appliance.keystore.template_key())
    (appliance.data_dir / "templates.json").write_text(json.dumps(signed, ensure_ascii=False))
    return str(bundle["published_at"])


def deploy_firmware_if_attached() -> str:
    from serial.tools import list_ports

    boards = [port for port in list_ports.comports() if (port.vid, port.pid) == BOARD_VID_PID]
    if not boards:
        return "skipped: no I/O board attached"
    return f"board found at {boards[0].device}; firmware deployment is not built yet (issue 7)"


class SelfTestItem(StrEnum):
    """What the self-test checks."""

    HOST = "host"
    QUEUE = "queue"
    TEMPLATES = "templates"
    CERTIFICATE = "certificate"


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    RENEW = "renew"  # works, but the certificate is due for renewal
    NOT_PULLED = "not_pulled"  # running on the shipped templates


@dataclass(frozen=True, slots=True)
class Check:
    """One self-test result, for a technician to read in either language."""

    outcome: Outcome
    message: Bilingual

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def english(self) -> str:
        return self.message.en


def self_test(appliance: Appliance) -> dict[str, str]:
    """The self-test in English (the provisioning report, the CLI)."""
    return {item.value: check.english() for item, check in self_test_checks(appliance).items()}


def _failed(error: BilingualError) -> Check:
    return Check(Outcome.FAILED, Bilingual(f"異常: {error.message.ja}", f"FAILED: {error.message.en}"))


def self_test_checks(appliance: Appliance) -> dict[SelfTestItem, Check]:
    results: dict[SelfTestItem, Check] = {}
    try:
        appliance.client().call("GET", api.HEALTH)
        results[SelfTestItem.HOST] = Check(Outcome.OK, Bilingual("正常", "ok"))
    except BilingualError as error:
        results[SelfTestItem.HOST] = _failed(error)
    try:
        outbox = appliance.outbox()
        depth = outbox.status().depth
        outbox.close()
        results[SelfTestItem.QUEUE] = Check(Outcome.OK, Bilingual(f"正常 (送信待ち{depth}件)", f"ok ({depth} queued)"))
    except BilingualError as error:
        results[SelfTestItem.QUEUE] = _failed(error)
    path = appliance.data_dir / "templates.json"
    if not path.exists():
        results[SelfTestItem.TEMPLATES] = Check(
            Outcome.NOT_PULLED,
            Bilingual(
                "未取得: 出荷時のテンプレートで動作中です。ホストから取得してください (再設置)",
                "not pulled yet: running on the shipped templates; pull them from the host (re-provision)",
            ),
        )
    else:
        try:
            verify_bundle(json.loads(path.read_text()), appliance.keystore.template_key())
            results[SelfTestItem.TEMPLATES] = Check(
                Outcome.OK, Bilingual("正常 (署名を確認)", "ok (signature verified)")
            )
        except (OSError, ValueError) as error:
            results[SelfTestItem.TEMPLATES] = Check(
                Outcome.FAILED, Bilingual(f"異常: 読めません ({type(error).__name__})", f"FAILED: {error}")
            )
        except BilingualError as error:
            results[SelfTestItem.TEMPLATES] = _failed(error)
    days = (appliance.keystore.certificate().not_valid_after_utc - appliance.clock()).days
    results[SelfTestItem.CERTIFICATE] = (
        Check(Outcome.OK, Bilingual(f"正常 (残り{days}日)", f"ok ({days} days left)"))
        if days > RENEW_DAYS_BEFORE
        else Check(Outcome.RENEW, Bilingual(f"要更新 (残り{days}日)", f"RENEW ({days} days left)"))
    )
    return results


def renew_if_due(appliance: Appliance, days_before: int = RENEW_DAYS_BEFORE) -> bool:
    """Renew the device certificate when it expires within `days_before` days (run daily by the forwarder unit)."""
    not_after = appliance.keystore.certificate().not_valid_after_utc
    if not_after - appliance.clock() > timedelta(days=days_before):
        return False
    appliance.client().renew()
    return True


def decommission(appliance: Appliance, force: bool = False) -> dict[str, Any]:
    """Drain, certify, erase. Returns the signed erasure certificate as it was recorded at the host."""
    identity = appliance.keystore.identity()
    client = appliance.client()
    lost: list[str] = []
    if appliance.queue_path.exists():
        outbox = appliance.outbox()
        try:
            with contextlib.suppress(BilingualError):  # a revoked device cannot send; what remains is listed
                Forwarder(outbox, client).drain()
            lost = [
                f"{kind} {record_id}"
                for record_id, kind in outbox.connection.execute("SELECT record_id, kind FROM outbox")
            ]
        finally:
            outbox.close()
    if lost and not force:
        raise ProvisioningError(
            f"送信できないデータが{len(lost)}件あります。--force で破棄できます",
            f"{len(lost)} queued record(s) could not be delivered; --force erases them",
            lost,
        )
    now = appliance.clock().isoformat(timespec="seconds")
    files = sorted(path.name for path in appliance.data_dir.rglob("*") if path.is_file())
    certificate = {
        "device_id": identity["device_id"],
        "municipality_code": identity["municipality_code"],
        "erased_at": now,
        "method": ERASE_METHOD,
        "files": files,
        "records_lost": lost,
    }
    keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
    envelope = seal_payload(keys, identity["device_id"], "erasure_certificate", certificate, now)
    client.call("POST", api.ERASURE, {"envelope": envelope.to_json()})  # signed just before the key is destroyed
    erased_keys = appliance.keystore.destroy_all()
    for path in sorted(appliance.data_dir.rglob("*"), reverse=True):
        if path.is_file():
            path.unlink()
    return {
        **certificate,
        "keys_erased": erased_keys,
        "signature": envelope.to_json()["signature"],
        "recorded_at_host": True,
    }
