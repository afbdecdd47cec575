"""Fuzzing (issue 15 item 9): generated inputs for every parser that meets outside data, with 0 crashes:
each answers with its own documented refusal (a ValueError subclass, or a 4xx), never anything else.

The normal run uses a small budget; `make fuzz` sets YOSHIN_FUZZ_EXAMPLES=10000 (and prints hypothesis'
statistics). The profile is the repository's deterministic "ci" one; a failing example found by an
exploring run becomes an explicit @example here.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from yoshin.device import framing, gs1
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona, registry_csv
from yoshin.domain import examples
from yoshin.domain.contract import ContractError, RecordKind, parse_record
from yoshin.host.server import HostServer
from yoshin.protocol import api, safejson
from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import EnvelopeHeader, SealedEnvelope, seal
from yoshin.smartcard import apdu, carddata, tlv
from yoshin.smartcard.errors import CardDataError

EXAMPLES = int(os.environ.get("YOSHIN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def _tlv_like() -> st.SearchStrategy[bytes]:
    """Bytes that are often almost BER-TLV: a tag, a (possibly lying) length, a value."""
    element = st.tuples(st.binary(min_size=1, max_size=3), st.integers(0, 300), st.binary(max_size=40)).map(
        lambda t: t[0] + (bytes([t[1]]) if t[1] < 0x80 else b"\x82" + t[1].to_bytes(2, "big")) + t[2]
    )
    return st.one_of(st.binary(max_size=200), st.lists(element, max_size=6).map(b"".join))


@FUZZ
@given(_tlv_like())
@example(b"\x5f\x20\x84\xff\xff\xff\xff")
@example(b"\xff" * 5)
def test_ber_tlv_parser(data: bytes) -> None:
    try:
        for _, value in tlv.parse_all(data):
            with contextlib.suppress(tlv.TLVError):
                tlv.children(value)
    except tlv.TLVError:
        pass


@FUZZ
@given(_tlv_like(), _tlv_like(), _tlv_like())
def test_card_data_parsers(ef1: bytes, ef2: bytes, ef3: bytes) -> None:
    parsers = ((carddata.parse_my_number, ef1), (carddata.parse_basic_info, ef2), (carddata.parse_signature, ef3))
    for parse, data in parsers:
        with contextlib.suppress(CardDataError):
            parse(data)
    with contextlib.suppress(CardDataError):
        carddata.hashes_match(ef1, ef2, ef3)


def _mutated_record() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    kinds = st.sampled_from(["questionnaire_response", "doctor_decision", "vaccination_record"])

    def build(kind: str, field: str | None, value: Any) -> tuple[str, dict[str, Any]]:
        q = new_record_id()
        body = {
            "questionnaire_response": lambda: examples.questionnaire_response(q),
            "doctor_decision": lambda: examples.doctor_decision(new_record_id(), q),
            "vaccination_record": lambda: examples.vaccination_record(new_record_id(), q),
        }[kind]()
        if field is not None:
            body[field if field in body else sorted(body)[len(field) % len(body)]] = value
        return kind, body

    return st.builds(build, kinds, st.none() | st.text(max_size=20), json_values | st.floats())


@FUZZ
@given(_mutated_record() | st.tuples(st.sampled_from(list(RecordKind)), json_values))
def test_contract_parser(case: tuple[str, Any]) -> None:
    kind, body = case
    with contextlib.suppress(ContractError):
        parse_record(kind, body)


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@example("[" * 5000)
@example('{"a": NaN}')
def test_json_parser(text: str) -> None:
    with contextlib.suppress(safejson.JsonRefused):
        safejson.loads(text)


@FUZZ
@given(st.binary(max_size=400) | st.binary(min_size=3, max_size=200).map(framing.encode_frame))
def test_io_board_frames(data: bytes) -> None:
    with contextlib.suppress(framing.FrameError):
        framing.decode_frame(data)
    framing.Deframer().feed(data + b"\x00")  # a stream never raises: bad frames are dropped


@FUZZ
@given(
    st.text(max_size=80)
    | st.lists(st.sampled_from(["]d2", "01", "17", "10", "21", "\x1d", "0", "9", "A", "(", ")"]), max_size=30).map(
        "".join
    )
)
@example("]d2010200000000012117270630" + "10FLU26A01")
def test_gs1_scans(raw: str) -> None:
    with contextlib.suppress(gs1.ScanError):
        gs1.parse_scan(raw)


HOST_PATHS = (api.RECORDS, api.IDENTITY, api.STAFF_LOGIN, api.STAFF_ATTEST, api.STAFF_LOGIN_CARD, api.JPKI_IDENTITY)


@FUZZ
@given(st.sampled_from([*HOST_PATHS, api.HISTORY]), json_values)
def test_host_api(served_fuzz: tuple[HostServer, Any], path: str, body: Any) -> None:
    host, device = served_fuzz
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=30)
    try:
        connection.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status < 500 or response.status == 503, (path, body, response.status)


HISTORY_ANSWERS = {200, 400, 403, 404, 409}  # the answer and each documented refusal of POST /history


def _history_bodies() -> st.SearchStrategy[Any]:
    """History requests as a kiosk (or a thief) could send them: the adult's subject id, an unknown,
    provisional, cut or made-up one, with a real nurse's proof or a cut one (placeholders the test fills
    in), any text or JSON value; and bodies with missing or extra keys."""

    def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # four in five draws well formed, so most requests get past the schema to the proof and the look-up
        return st.integers(0, 4).flatmap(lambda n: usual if n else other)

    ids = st.sampled_from([persona("adult").subject_id, "S999999", "P-" + "0" * 30, "S00010"])
    subject = mostly(ids, st.text(max_size=40) | json_values)
    proof = mostly(st.sampled_from(["<proof>", "<cut proof>"]), st.text(max_size=60) | json_values)
    shaped = st.fixed_dictionaries({"subject_id": subject, "proof": proof})
    loose = st.dictionaries(st.sampled_from(["subject_id", "proof", "my_number"]), subject | proof, max_size=3)
    return mostly(shaped, loose)


@FUZZ
@given(_history_bodies())
@example({"subject_id": persona("adult").subject_id, "proof": "<proof>"})
@example({"subject_id": persona("adult").subject_id, "proof": {"a": 1}})
def test_host_history(served_fuzz: tuple[HostServer, Any], body: dict[str, Any]) -> None:
    host, device = served_fuzz
    real = {"<proof>": device.nurse, "<cut proof>": device.nurse[:-3]}
    filled = {name: real.get(value, value) if isinstance(value, str) else value for name, value in body.items()}
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=30)
    try:
        connection.request(
            "POST", api.HISTORY, body=json.dumps(filled).encode(), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status in HISTORY_ANSWERS, (filled, response.status)
    event(f"history {response.status}")  # --hypothesis-show-statistics: how deep the inputs got
    if response.status == 200:
        assert answer["subject_id"] == persona("adult").subject_id and persona("adult").my_number not in str(answer)
    else:
        assert answer["message_ja"] and answer["message_en"]


REAL_EFS = ("<ef_my_number>", "<ef_basic_info>", "<ef_signature>", "<ef_auth_certificate>")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _identity_bodies() -> st.SearchStrategy[Any]:
    """Sealed identity bodies as a device could send them: a persona's real EFs (the placeholders in
    REAL_EFS, filled in by the test), cut, swapped or replaced, with a JPKI binding whose fields are
    missing, of the wrong type, or made up (findings 4 and 8)."""
    ef = st.sampled_from(REAL_EFS) | _tlv_like().map(_b64) | st.binary(max_size=40).map(lambda b: _b64(b)[:-1])
    value = ef | json_values
    names = ("ef_my_number", "ef_basic_info", "ef_signature")
    real_face = st.just({name: f"<{name}>" for name in names})
    faces = real_face | st.fixed_dictionaries({name: value for name in names})
    binding_keys = ["ef_auth_certificate", "auth_challenge_id", "auth_signature", "auth_binding_skipped"]
    binding = st.dictionaries(st.sampled_from(binding_keys), st.text(max_size=40) | value, max_size=4)
    return st.builds(lambda face, extra: {**face, **extra}, faces, binding) | json_values


@FUZZ
@given(_identity_bodies())
@example({"ef_my_number": "", "ef_basic_info": "", "ef_signature": "", "auth_challenge_id": {"a": 1}})
@example({name: f"<{name}>" for name in ("ef_my_number", "ef_basic_info", "ef_signature")})
@example(
    {**{name: f"<{name}>" for name in ("ef_my_number", "ef_basic_info", "ef_signature")}, "auth_binding_skipped": []}
)
@example(
    {**{name: f"<{name}>" for name in ("ef_my_number", "ef_basic_info", "ef_signature")}, "auth_binding_skipped": {}}
)
def test_host_identity_sealed(served_fuzz: tuple[HostServer, Any], body: Any) -> None:
    """Past TLS and the envelope: the identity look-up and the binding meet generated card data (no 5xx)."""
    host, device = served_fuzz
    if isinstance(body, dict):
        body = {key: device.real.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    envelope = device.seal(body)
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=30)
    try:
        payload = json.dumps({"envelope": envelope.to_json()}).encode()
        connection.request("POST", api.IDENTITY, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status < 500 or response.status == 503, (body, response.status)
    if response.status == 200:
        assert json.loads(answer)["status"] in ("ok", "not_found", "refer_to_staff")


@pytest.fixture(scope="module")
def served_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One served host and device for the whole module (the budget is in requests, not hosts)."""
    from datetime import UTC, datetime

    from yoshin.device.appliance import Appliance
    from yoshin.device.hostclient import HostAddress, HostClient, enroll, fetch_ca
    from yoshin.host import attest, devices, ratelimit, staff, technicians
    from yoshin.host.server import HostService

    tmp = tmp_path_factory.mktemp("fuzz")
    service = HostService.open(tmp / "host", clock=lambda: datetime(2026, 10, 15, 1, tzinfo=UTC))
    service.limiter.take = lambda *a, **k: (True, 0, False)  # type: ignore[method-assign]  # the budget, not the limiter
    assert ratelimit.IDENTITY_PER_DEVICE.capacity > 0
    with HostServer(service) as host:
        token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
        address = HostAddress("127.0.0.1", host.port, host.enroll_port)
        appliance = Appliance(tmp / "device")
        ca = fetch_ca(address, service.pki.ca_fingerprint)
        technicians.add(service.db, "T9FZ", "技術", "141305", "fuzz-password-1", "保守", "clinic", service.clock())
        proof, _, _ = technicians.login(
            service.db, service.keys.attestation, "T9FZ", "fuzz-password-1", "141305", service.clock()
        )
        answer = enroll(address, ca, appliance.keystore, token, "141305", "1410000001", "FZ", proof)
        keystore, device_id = appliance.keystore, answer["device_id"]
        pki = DevPki.load_or_create(tmp / "pki")
        adult = persona("adult")
        service.registry.import_csv(registry_csv([adult]))
        service.jlis_key, service.jpki_anchors = pki.jlis_key.public_key(), [pki.ca_cert]
        image = CardImage.for_persona(adult, pki)
        kenhojo, jpki = image.files[apdu.AID_KENHOJO], image.files[apdu.AID_JPKI]
        real = dict(
            zip(REAL_EFS, map(_b64, (kenhojo[1], kenhojo[2], kenhojo[3], jpki[apdu.EF_AUTH_CERT])), strict=True)
        )

        def seal_identity(body: Any) -> SealedEnvelope:
            header = EnvelopeHeader(new_record_id(), device_id, "identity", "2026-10-15T10:00:00+09:00")
            payload = json.dumps({"contract_version": "1", "kind": "identity", "body": body}).encode()
            return seal(payload, header, keystore.host_sealing_key(), keystore.signing_key())

        client = HostClient(keystore, address)
        staff.add(service.db, "N9FZ", "看護 試験", "nurse", "141305", "fuzz-password-1", service.clock())
        nurse, _ = attest.issue(service.keys.attestation, "N9FZ", "nurse", "141305", device_id, service.clock())
        fields = {"client": client, "seal": staticmethod(seal_identity), "real": real, "nurse": nurse}
        yield host, type("D", (), fields)()
