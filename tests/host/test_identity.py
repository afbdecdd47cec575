"""Identity resolution over mutual TLS: face-read mode and JPKI mode. The My Number never comes back."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona, registry_csv
from yoshin.host.server import HostServer
from yoshin.protocol import api


def _resolve(device, image: CardImage, extra: dict[str, str] | None = None) -> dict:
    body = {**device.identity_body(image), **(extra or {})}
    return device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})


def test_face_read_resolves_to_a_pseudonym_with_the_due_list(make_device, test_pki: DevPki, host: HostServer) -> None:
    device = make_device()
    who = persona("elderly")
    answer = _resolve(device, CardImage.for_persona(who, test_pki))
    assert answer["status"] == "ok"
    subject = answer["subject"]
    assert subject["subject_id"] == who.subject_id and subject["display_name"] == who.name
    assert subject["age"] == 75 and not subject["is_minor"]
    due = {item["vaccine_code"] for item in subject["due"]}
    assert "flu_elderly" in due and "covid_elderly" in due
    assert all(item["reason_ja"] and item["reason_en"] for item in subject["due"])
    assert who.my_number not in json.dumps(answer)
    assert api.IdentityAnswer.from_json(answer).subject.subject_id == who.subject_id  # as the kiosk reads it
    lines = host.service.db.execute(
        "SELECT action, target, outcome FROM audit WHERE action = 'identity.face'"
    ).fetchall()
    assert lines[-1] == ("identity.face", who.subject_id, "ok")


def test_a_child_comes_back_with_the_guardian(make_device, test_pki: DevPki) -> None:
    answer = _resolve(make_device(), CardImage.for_persona(persona("child"), test_pki))
    subject = answer["subject"]
    assert subject["is_minor"] and subject["guardian_name"] == "中原 美咲"
    assert {"mr"} <= {item["vaccine_code"] for item in subject["due"]}
    # Hib x3 but no DPT-IPV yet: 5種混合 is due and covers the Hib booster, so Hib alone is not offered.
    due = {item["vaccine_code"] for item in subject["due"]}
    assert "dpt_ipv_hib" in due and "hib" not in due


def test_a_mismatch_is_a_non_identifying_refusal(make_device, test_pki: DevPki, host: HostServer) -> None:
    service = host.service
    service.registry.import_csv(
        registry_csv([persona("adult")], {"adult": {"address": "神奈川県川崎市川崎区駅前本町1"}})
    )
    device = make_device()
    before = service.db.execute("SELECT count(*) FROM inbox").fetchone()[0]
    answer = _resolve(device, CardImage.for_persona(persona("adult"), test_pki))
    assert answer["status"] == "not_found" and "subject" not in answer
    assert service.db.execute("SELECT count(*) FROM inbox").fetchone()[0] == before
    last = service.db.execute("SELECT outcome FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert last == "refused: mismatch address"


def test_address_forms_are_normalised(make_device, test_pki: DevPki, host: HostServer) -> None:
    written = {"address": "神奈川県川崎市中原区小杉町３－１０"}  # full width, dashes instead of 丁目/番地
    host.service.registry.import_csv(registry_csv([persona("adult")], {"adult": written}))
    assert _resolve(make_device(), CardImage.for_persona(persona("adult"), test_pki))["status"] == "ok"


@pytest.mark.parametrize("flag", ["no_auto_answer", "no_disclosure", "viewing_suspended"])
def test_restricted_residents_are_referred_to_staff(make_device, test_pki: DevPki, host: HostServer, flag: str) -> None:
    host.service.registry.import_csv(registry_csv([persona("adult")], {"adult": {flag: "1"}}))
    answer = _resolve(make_device(), CardImage.for_persona(persona("adult"), test_pki))
    assert answer["status"] == "refer_to_staff" and "subject" not in answer


def test_forged_card_data_is_refused(make_device, test_pki: DevPki) -> None:
    device = make_device()
    image = CardImage.for_persona(persona("adult"), test_pki)
    body = device.identity_body(image)
    basic = base64.b64decode(body["ef_basic_info"]).replace("川崎 花子".encode(), "川崎 花男".encode())
    body["ef_basic_info"] = base64.b64encode(basic).decode()
    answer = device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})
    assert answer["status"] == "not_found"


def test_a_jlis_key_is_checked_when_configured(make_device, test_pki: DevPki, host: HostServer) -> None:
    device = make_device()
    other = DevPki.load_or_create(test_pki.directory / "another-jlis")
    host.service.jlis_key = other.jlis_key.public_key()
    assert _resolve(device, CardImage.for_persona(persona("adult"), test_pki))["status"] == "not_found"
    host.service.jlis_key = test_pki.jlis_key.public_key()
    assert _resolve(device, CardImage.for_persona(persona("adult"), test_pki))["status"] == "ok"


def test_another_municipality_sees_nothing(make_device, test_pki: DevPki) -> None:
    yokohama = make_device(municipality="141003", serial="YOKO1")
    assert _resolve(yokohama, CardImage.for_persona(persona("adult"), test_pki))["status"] == "not_found"


def test_jpki_mode_after_a_face_read_links_the_certificate(make_device, test_pki: DevPki) -> None:
    device = make_device()
    who = persona("adult")
    key, certificate = test_pki.auth_credentials(who.id)
    der = certificate.public_bytes(serialization.Encoding.DER)
    challenge = device.client.call("POST", api.JPKI_CHALLENGE)
    message = bytes.fromhex(challenge["challenge"])

    def sign_like_the_card(data: bytes) -> str:
        return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()

    body = {"challenge_id": challenge["challenge_id"], "certificate": base64.b64encode(der).decode()}
    unlinked = device.client.call("POST", api.JPKI_IDENTITY, {**body, "signature": sign_like_the_card(message)})
    assert unlinked["status"] == "not_found"
    image = CardImage.for_persona(who, test_pki)
    assert _resolve(device, image, _bound(device, image, der, sign_like_the_card))["status"] == "ok"
    challenge = device.client.call("POST", api.JPKI_CHALLENGE)
    message = bytes.fromhex(challenge["challenge"])
    body["challenge_id"] = challenge["challenge_id"]
    answer = device.client.call("POST", api.JPKI_IDENTITY, {**body, "signature": sign_like_the_card(message)})
    assert answer["status"] == "ok"
    assert answer["subject"]["subject_id"] == who.subject_id
    assert answer["revocation"] == "not_configured"
    replay = device.client.call("POST", api.JPKI_IDENTITY, {**body, "signature": sign_like_the_card(message)})
    assert replay["status"] == "not_found"  # a challenge is single-use


def _bound(device, image: CardImage, der: bytes, sign) -> dict[str, str]:
    """The card's certificate and its signature over a host challenge bound to this face read."""
    from yoshin.protocol.binding import face_bound

    challenge = device.client.call("POST", api.JPKI_CHALLENGE)
    efs = [base64.b64decode(v) for v in device.identity_body(image).values()]
    return {
        "ef_auth_certificate": base64.b64encode(der).decode(),
        "auth_challenge_id": challenge["challenge_id"],
        "auth_signature": sign(face_bound(bytes.fromhex(challenge["challenge"]), *efs)),
    }


def test_a_face_read_links_only_the_card_that_signed_a_challenge_bound_to_it(
    make_device, test_pki: DevPki, host: HostServer
) -> None:
    """Finding 4: a certificate from another card, or a signature made for another read, links nothing."""
    device = make_device()
    victim, attacker = persona("adult"), persona("elderly")
    attacker_key, attacker_cert = test_pki.auth_credentials(attacker.id)
    der = attacker_cert.public_bytes(serialization.Encoding.DER)

    def sign(data: bytes) -> str:
        return base64.b64encode(attacker_key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()

    victim_read = CardImage.for_persona(victim, test_pki)
    unsigned = {"ef_auth_certificate": base64.b64encode(der).decode()}  # the old way: the certificate alone
    assert _resolve(device, victim_read, unsigned)["status"] == "ok"
    other_read = _bound(device, CardImage.for_persona(attacker, test_pki), der, sign)  # bound to another read
    assert _resolve(device, victim_read, other_read)["status"] == "ok"
    links = host.service.db.execute("SELECT count(*) FROM jpki_links").fetchall()
    assert links == [(0,)]
    refused = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'jpki.link'").fetchall()
    assert len(refused) == 2 and all(o.startswith("refused") for (o,) in refused)
