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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from yoshin.device import hostclient
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostAddress, HostClient, HostRefused, HostUnreachable, enroll, fetch_ca
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
    technician: str = ""

    def text(self) -> str:
        lines = [
            "yoshin provisioning report",
            *(f"  {key}: {value}" for key, value in asdict(self).items() if key != "self_test"),
        ]
        lines += [f"  self-test {name}: {result}" for name, result in self.self_test.items()]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TechnicianProof:
    """A technician logged in at the host (control 27): the host's attestation, and the host it came from
    (reached with the CA the technician pinned), for enrollment and decommissioning to carry."""

    staff_id: str
    name: str
    municipality_code: str
    attestation: str
    expires_at: str
    addresses: tuple[HostAddress, ...]
    ca_pem: str


def parse_addresses(text: str, port: int = 8443, enroll_port: int = 8444) -> list[HostAddress]:
    """`host`, `host:port` or `host:port:enroll_port`, several separated by commas or spaces (the nodes of
    one host). Without an enrollment port it is `enroll_port`, or port + 1 when a port is given."""
    nodes = []
    for item in text.replace(",", " ").replace("、", " ").split():
        name, *numbers = item.split(":")
        if not name or len(numbers) > 2 or not all(n.isascii() and n.isdigit() and 0 < int(n) < 65536 for n in numbers):
            raise ProvisioningError(
                f"ホストのアドレスが正しくありません: {item} (例: 10.0.0.5 または 10.0.0.5:8443)",
                f"not a host address: {item} (e.g. 10.0.0.5 or 10.0.0.5:8443)",
            )
        main = int(numbers[0]) if numbers else port
        enroll = int(numbers[1]) if len(numbers) == 2 else (main + 1 if numbers else enroll_port)
        nodes.append(HostAddress(name, main, enroll))
    if not nodes:
        raise ProvisioningError("ホストのアドレスを入力してください", "enter the host's address")
    return nodes


def _fingerprint(text: str) -> str:
    clean = text.strip().lower().replace(":", "").replace(" ", "")
    if len(clean) != 64 or any(c not in "0123456789abcdef" for c in clean):
        raise ProvisioningError(
            "CAの指紋はSHA-256の16進数64桁です (区切りの : は可)",
            "the CA fingerprint is a SHA-256 in 64 hexadecimal digits (':' separators allowed)",
        )
    return clean


def _unreachable(address: HostAddress) -> ProvisioningError:
    return ProvisioningError(
        f"ホスト {address.host}:{address.enroll_port} に接続できません。"
        "アドレス・ポート・ネットワークを確認してください",
        f"the host {address.host}:{address.enroll_port} cannot be reached: check the address, the port and the network",
    )


def technician_login(
    appliance: Appliance, staff_id: str, password: str, addresses: Sequence[HostAddress] | None = None,
    ca_fingerprint: str | None = None, municipality_code: str | None = None,
) -> TechnicianProof:  # fmt: skip
    """Log a technician in at the host. A fresh appliance gives the host's address(es), the CA fingerprint
    from the admin and the municipality; an enrolled one uses its own (decommissioning). Nothing is written."""
    enrolled = appliance.keystore.is_enrolled()
    nodes = list(addresses or (appliance.host_addresses() if enrolled else []))
    if not nodes:
        raise ProvisioningError("ホストのアドレスを入力してください", "enter the host's address")
    municipality = municipality_code or (appliance.keystore.identity()["municipality_code"] if enrolled else "")
    if not (municipality.isascii() and municipality.isdigit() and len(municipality) == 6):
        raise ProvisioningError("自治体コードは6桁の数字です", "the municipality code is 6 digits")
    pin = _fingerprint(ca_fingerprint or "") if ca_fingerprint or not enrolled else None
    if not staff_id or not password:
        raise ProvisioningError(
            "技術担当者のIDとパスワードを入力してください", "enter the technician's ID and password"
        )
    for address in nodes:
        try:
            ca_pem = fetch_ca(address, pin) if pin else appliance.keystore.host_ca_pem()
            answer = hostclient.technician_login(address, ca_pem, staff_id, password, municipality)
        except HostUnreachable:
            continue  # the next node of the same host
        except HostRefused as refused:
            raise ProvisioningError(refused.message.ja, refused.message.en) from None
        except ValueError:  # it answered, but not with a CA certificate
            raise ProvisioningError(
                f"{address.host}:{address.enroll_port} はyoshinのホストではないようです。"
                "アドレスとポートを確認してください",
                f"{address.host}:{address.enroll_port} does not answer as a yoshin host: check the address and port",
            ) from None
        return TechnicianProof(
            answer["staff_id"], answer["name"], municipality, answer["attestation"], answer["expires_at"],
            (address, *(node for node in nodes if node != address)), ca_pem,
        )  # fmt: skip
    raise _unreachable(nodes[0])


def provision(
    appliance: Appliance,
    technician: TechnicianProof,
    token: str,
    clinic_code: str,
    serial: str,
    production: bool = False,
    place: str = "",
) -> ProvisioningReport:
    """Enroll a fresh appliance with the technician's proof and the one-time token, then pull the templates,
    the firmware and the self-test. On any failure the data directory is left as it was (nothing half
    written: the keys made for a refused enrollment are erased)."""
    if appliance.keystore.is_enrolled():
        raise ProvisioningError(
            "この端末は既に登録されています。先に廃棄処理をしてください",
            "this appliance is already enrolled: decommission it first",
        )
    if not token.strip():
        raise ProvisioningError("登録用トークンを入力してください", "enter the enrollment token")
    if not (clinic_code.isascii() and clinic_code.isdigit() and len(clinic_code) == 10):
        raise ProvisioningError("医療機関コードは10桁の数字です", "the clinic code is 10 digits")
    ca = x509.load_pem_x509_certificate(technician.ca_pem.encode())
    if production and "DEVELOPMENT" in ca.subject.rfc4514_string():
        raise ProvisioningError("本番モードでは開発用CAは使用できません", "production mode refuses a development CA")
    address = technician.addresses[0]
    municipality_code = technician.municipality_code
    before = _files(appliance)
    try:
        answer = enroll(
            address, technician.ca_pem, appliance.keystore, token.strip(), municipality_code, clinic_code, serial,
            technician.attestation,
        )  # fmt: skip
        appliance.save_host(list(technician.addresses))
        if place:
            appliance.save_place(place)
        client = HostClient(appliance.keystore, list(technician.addresses))
        templates = pull_templates(appliance, client)
        report = ProvisioningReport(
            device_id=answer["device_id"],
            municipality_code=municipality_code,
            clinic_code=clinic_code,
            host=", ".join(f"{node.host}:{node.port}" for node in technician.addresses),
            host_ca_fingerprint=ca.fingerprint(hashes.SHA256()).hex(),
            certificate_not_after=appliance.keystore.certificate().not_valid_after_utc.isoformat(),
            templates_version=templates,
            firmware=deploy_firmware_if_attached(),
            provisioned_at=appliance.clock().isoformat(timespec="seconds"),
            technician=technician.staff_id,
        )
    except HostUnreachable:
        _undo(appliance, before)
        raise _unreachable(address) from None
    except HostRefused as refused:
        _undo(appliance, before)
        raise ProvisioningError(refused.message.ja, refused.message.en) from None
    except BaseException:
        _undo(appliance, before)
        raise
    report.self_test = self_test(appliance)
    return report


def _files(appliance: Appliance) -> set[Path]:
    return {path for path in appliance.data_dir.rglob("*") if path.is_file()} if appliance.data_dir.exists() else set()


def _undo(appliance: Appliance, before: set[Path]) -> None:
    """Remove what a failed provisioning wrote (fresh keys that no certificate was issued for, or one the
    host issued but the appliance could not finish with: the host admin revokes that device)."""
    for path in sorted(_files(appliance) - before, reverse=True):
        path.unlink()


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


def decommission(appliance: Appliance, technician: str, force: bool = False) -> dict[str, Any]:
    """Drain, certify, erase, with a technician's attestation (`technician_login`, or a technician's staff
    session): the host refuses the certificate without one, and then nothing is erased. Returns the signed
    erasure certificate as it was recorded at the host."""
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
        "technician": technician,
    }
    keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
    envelope = seal_payload(keys, identity["device_id"], "erasure_certificate", certificate, now)
    try:  # signed just before the key is destroyed; a refusal (no valid technician proof) erases nothing
        client.call("POST", api.ERASURE, {"envelope": envelope.to_json()})
    except HostUnreachable:
        raise ProvisioningError(
            "ホストに接続できないため廃棄を記録できません。何も消去していません",
            "the host cannot be reached to record the erasure; nothing was erased",
        ) from None
    except HostRefused as refused:
        raise ProvisioningError(refused.message.ja, refused.message.en) from None
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
