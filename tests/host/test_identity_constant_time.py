"""Finding 8: a registered My Number cannot be told from an unregistered one by the served host's answer or
by the work it does for it. Driven over mutual TLS with a scripted client holding a valid device
certificate; the work is compared by instrumenting the host's primitives and statements (no timing: the
timing figures are in benchmarks/bench_identity_timing.py)."""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import Persona, persona, registry_csv
from yoshin.domain.codes import my_number_check_digit
from yoshin.host import audit, identity, store
from yoshin.host.registry import Registry
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.binding import face_bound


def _unregistered(who: Persona) -> Persona:
    body = "39" + who.my_number[2:11]
    number = body + str(my_number_check_digit(body))
    assert number != who.my_number
    return dataclasses.replace(who, my_number=number)


class Work:
    """What the host did for one request: its primitives and statements, in order (the instrumented hook)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    seen = Work()

    def count(owner: object, name: str, label: Callable[..., str] | None = None) -> None:
        original = getattr(owner, name)

        def wrapped(*args: object, **kwargs: object) -> object:
            seen.calls.append(label(*args) if label else name)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)

    def statement(*args: object) -> str:
        sql = next(arg for arg in args if isinstance(arg, str))
        return "sql " + " ".join(sql.split())

    count(Registry, "index")  # the keyed hash of the number
    count(Registry, "history")
    count(identity, "due_list")
    count(identity, "_same")  # the constant-time comparisons
    count(identity, "verify_face_signature")  # the J-LIS signature (RSA)
    count(identity, "verify_jpki_auth")  # the binding's signature and chain (RSA)
    count(audit, "append")
    count(store.Tx, "execute", statement)
    count(store.Database, "query", statement)
    yield seen


def _post(host: HostServer, device, body: dict) -> tuple[int, list[str], bytes]:
    """One raw request over mutual TLS: the status, the header names and the body's bytes."""
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=30)
    try:
        connection.request("POST", api.IDENTITY, json.dumps(body).encode(), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, sorted(name for name, _ in response.getheaders()), response.read()
    finally:
        connection.close()


def _identity(device, image: CardImage, extra: dict[str, str] | None = None) -> dict:
    return {"envelope": device.seal("identity", {**device.identity_body(image), **(extra or {})}).to_json()}


def test_a_registered_number_answers_and_works_like_an_unregistered_one(
    make_device, test_pki: DevPki, host: HostServer, work: Work
) -> None:
    service = host.service
    service.jlis_key = test_pki.jlis_key.public_key()
    service.registry.import_csv(registry_csv([persona("elderly")], {"elderly": {"no_auto_answer": "1"}}))
    device = make_device()
    adult = persona("adult")
    cards = {
        "registered": CardImage.for_persona(adult, test_pki),
        "registered, other address": CardImage.for_persona(
            dataclasses.replace(adult, address="東京都千代田区1"), test_pki
        ),
        "unregistered": CardImage.for_persona(_unregistered(adult), test_pki),
        "registered, restricted": CardImage.for_persona(persona("elderly"), test_pki),
    }
    answers, done = {}, {}
    for name, image in cards.items():
        request = _identity(device, image)
        work.take()
        answers[name] = _post(host, device, request)
        done[name] = work.take()

    unregistered = answers["unregistered"]
    assert unregistered[0] == 200 and json.loads(unregistered[2])["status"] == "not_found"
    # A mismatch and an unknown number: the same bytes (and the same headers).
    assert answers["registered, other address"] == unregistered
    # The intended difference only: the status and the subject of an authentic read of a registered resident.
    assert json.loads(answers["registered"][2])["status"] == "ok"
    assert json.loads(answers["registered, restricted"][2])["status"] == "refer_to_staff"
    assert {answer[1] == unregistered[1] for answer in answers.values()} == {True}  # the same header names
    # The same work, step by step: one keyed hash, the same statements, four comparisons, a due list, an audit line.
    assert done["unregistered"].count("index") == 1 and done["unregistered"].count("_same") == 4
    assert done["unregistered"].count("verify_face_signature") == 1 and "due_list" in done["unregistered"]
    for name, steps in done.items():
        assert steps == done["unregistered"], name
    outcomes = service.db.execute("SELECT outcome FROM audit WHERE action = 'identity.face' ORDER BY seq").fetchall()
    assert [o for (o,) in outcomes][-4:] == [
        "ok",
        "refused: mismatch address",
        "refused: not in this municipality's registry",
        "referred: no automatic answer",
    ]


def test_a_binding_costs_the_same_for_a_registered_and_an_unregistered_number(
    make_device, test_pki: DevPki, host: HostServer, work: Work
) -> None:
    """The binding's checks run before the look-up's outcome is known; the link statement runs either way."""
    device = make_device()
    adult = persona("adult")
    key, certificate = test_pki.auth_credentials(adult.id)
    der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    done, links = {}, []
    for name, who in (("registered", adult), ("unregistered", _unregistered(adult))):
        image = CardImage.for_persona(who, test_pki)
        challenge = device.client.call("POST", api.JPKI_CHALLENGE)
        efs = [base64.b64decode(value) for value in device.identity_body(image).values()]
        signature = key.sign(
            face_bound(bytes.fromhex(challenge["challenge"]), *efs), padding.PKCS1v15(), hashes.SHA256()
        )
        binding = {
            "ef_auth_certificate": der,
            "auth_challenge_id": challenge["challenge_id"],
            "auth_signature": base64.b64encode(signature).decode(),
        }
        request = _identity(device, image, binding)
        work.take()
        _post(host, device, request)
        done[name] = work.take()
        links.append(host.service.db.execute("SELECT count(*) FROM jpki_links").fetchone()[0])
    assert done["registered"].count("verify_jpki_auth") == 1
    assert done["registered"] == done["unregistered"]
    assert links == [1, 1]  # linked for the registered resident only
    last = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'jpki.link' ORDER BY seq").fetchall()
    assert [o for (o,) in last][-2:] == ["ok", "refused: the face read was not answered"]


def test_jpki_mode_works_alike_for_a_linked_and_an_unlinked_certificate(
    make_device, test_pki: DevPki, host: HostServer, work: Work
) -> None:
    device = make_device()
    linked, unlinked = persona("adult"), persona("elderly")
    host.service.db.execute(
        "INSERT INTO jpki_links (fingerprint, municipality_code, subject_id, linked_at) VALUES (?, ?, ?, ?)",
        [test_pki.auth_credentials(linked.id)[1].fingerprint(hashes.SHA256()).hex(), "141305", linked.subject_id, "-"],
        "141305",
    )
    done, statuses = {}, {}
    for who in (linked, unlinked):
        key, certificate = test_pki.auth_credentials(who.id)
        challenge = device.client.call("POST", api.JPKI_CHALLENGE)
        signature = key.sign(bytes.fromhex(challenge["challenge"]), padding.PKCS1v15(), hashes.SHA256())
        body = {
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
            "signature": base64.b64encode(signature).decode(),
        }
        work.take()
        statuses[who.id] = device.client.call("POST", api.JPKI_IDENTITY, body)["status"]
        done[who.id] = work.take()
    assert statuses == {linked.id: "ok", unlinked.id: "not_found"}
    assert done[linked.id].count("verify_jpki_auth") == 1 and "due_list" in done[linked.id]
    assert done[linked.id] == done[unlinked.id]
