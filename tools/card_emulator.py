"""A My Number card emulator speaking the vsmartcard vpcd protocol (development and tests only).

It connects to pcscd's vpcd driver as a card: connect = inserted, close = removed. It is faithful to
the card as documented in mynumber-card.md: JPKI-AP and 券面事項入力補助AP with their EFs, separate PIN
counters that block at zero and reset on success, verified state cleared on power-off, reset and
re-SELECT, the documented status words, a J-LIS-style EF 0003 signed with a test key and a user-auth
certificate from a test JPKI CA. Faults can be injected: pull the card after N APDUs, delay each APDU.

Never install this (or vsmartcard-vpcd) on a kiosk: production mode refuses "Virtual PCD" readers.

    python -m yoshin.tools.card_emulator --persona adult --port PORT --pki-dir var/test-pki
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from yoshin.smartcard import apdu
from yoshin.tools.personas import Persona, SignCertificate, persona
from yoshin.tools.test_pki import TestPki

SEX_CODES = {"male": "1", "female": "2", "not_applicable": "9"}
TOKENS = {"mynumber": "JPKIAPICCTOKEN2", "juki": "JPKIAPICCTOKEN"}
PIN_TRIES = {apdu.EF_FACE_PIN: 3, apdu.EF_AUTH_PIN: 3, apdu.EF_SIGN_PIN: 5}
PIN_FIDS = {"face": apdu.EF_FACE_PIN, "auth": apdu.EF_AUTH_PIN, "sign": apdu.EF_SIGN_PIN}
# EFs readable only after their PIN, by (AP, EF): the face EFs after 0011, the signing certificate
# after 001B (mynumber-card.md §3). Keys and PIN files are never readable.
PROTECTED = {
    (apdu.AID_KENHOJO, apdu.EF_MY_NUMBER): apdu.EF_FACE_PIN,
    (apdu.AID_KENHOJO, apdu.EF_BASIC_INFO): apdu.EF_FACE_PIN,
    (apdu.AID_JPKI, apdu.EF_SIGN_CERT): apdu.EF_SIGN_PIN,
}
UNREADABLE = {apdu.EF_AUTH_KEY, apdu.EF_SIGN_KEY, *PIN_TRIES}


def _tlv(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    if len(value) < 0x80:
        length = bytes([len(value)])
    elif len(value) <= 0xFF:
        length = bytes([0x81, len(value)])
    else:
        length = bytes([0x82]) + len(value).to_bytes(2, "big")
    return tag_bytes + length + value


def _atr() -> bytes:
    """A T=1 ATR with historical bytes 'YOSHIN-EMU' and its check byte."""
    historical = b"YOSHIN-EMU"
    # T0: TD1 present + K historical bytes; TD1: TD2 present (T=0); TD2: T=1. T=1 requires TCK.
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for byte in body:
        tck ^= byte
    return bytes([0x3B]) + body + bytes([tck])


@dataclass
class CardImage:
    """The files of one card, built from a persona and the test PKI."""

    kind: str  # "mynumber", "juki", or "foreign" (no JPKI-AP at all)
    pins: dict[int, bytes]
    files: dict[bytes, dict[int, bytes]]
    auth_key: rsa.RSAPrivateKey | None
    initial_tries: dict[int, int] = field(default_factory=lambda: dict(PIN_TRIES))  # counters at first insertion

    @classmethod
    def for_persona(cls, who: Persona, pki: TestPki, kind: str = "mynumber") -> CardImage:
        my_number = _tlv(0xDF10, who.my_number.encode()) + b"\xff\xff"
        fields = (
            _tlv(0xDF22, who.name.encode("utf-8"))
            + _tlv(0xDF23, who.address.encode("utf-8"))
            + _tlv(0xDF24, who.birth_date.strftime("%Y%m%d").encode())
            + _tlv(0xDF25, SEX_CODES[who.sex].encode())
        )
        header = _tlv(0xDF21, struct.pack(">HHHH", 0, 0, 0, 0))
        basic_info = _tlv(0xFF20, header + fields)
        hash_number = hashlib.sha256(my_number).digest()
        hash_info = hashlib.sha256(fields).digest()
        signature = pki.jlis_key.sign(hash_number + hash_info, padding.PKCS1v15(), hashes.SHA256())
        signature_ef = _tlv(0xFF30, _tlv(0xDF31, hash_number) + _tlv(0xDF32, hash_info) + _tlv(0xDF33, signature))
        auth_key, auth_cert = pki.auth_credentials(who.id)
        token = TOKENS.get(kind, "").encode().ljust(32, b" ")
        files: dict[bytes, dict[int, bytes]] = {}
        has_sign = who.card.sign_certificate is not SignCertificate.ABSENT
        if kind != "foreign":
            files[apdu.AID_JPKI] = {
                apdu.EF_JPKI_TOKEN: token,
                apdu.EF_AUTH_CERT: auth_cert.public_bytes(serialization.Encoding.DER),
                apdu.EF_AUTH_CA_CERT: pki.ca_cert.public_bytes(serialization.Encoding.DER),
                apdu.EF_AUTH_KEY: b"",
                apdu.EF_AUTH_PIN: b"",
            }
            if has_sign:  # a child's card has none of these (SELECT answers 6A82)
                files[apdu.AID_JPKI] |= {
                    apdu.EF_SIGN_CERT: pki.sign_certificate(who.id, who.card.sign_certificate.value).public_bytes(
                        serialization.Encoding.DER
                    ),
                    apdu.EF_SIGN_CA_CERT: pki.sign_ca()[1].public_bytes(serialization.Encoding.DER),
                    apdu.EF_SIGN_KEY: b"",
                    apdu.EF_SIGN_PIN: b"",
                }
        if kind == "mynumber":
            files[apdu.AID_KENHOJO] = {
                apdu.EF_MY_NUMBER: my_number,
                apdu.EF_BASIC_INFO: basic_info,
                apdu.EF_FACE_SIGNATURE: signature_ef,
                apdu.EF_FACE_PIN: b"",
            }
        pins = {PIN_FIDS[name]: pin.encode() for name, pin in who.pins.items()}
        tries = {fid: count for fid, count in PIN_TRIES.items() if fid in pins}
        tries |= {PIN_FIDS[name]: count for name, count in who.card.tries.items()}
        return cls(kind, pins, files, auth_key, tries)


@dataclass
class CardState:
    """The card's volatile and persistent state, and the APDU interpreter."""

    image: CardImage
    tries: dict[int, int] = field(default_factory=dict)  # persistent counters; from the image at first
    selected_ap: bytes | None = None
    selected_ef: int | None = None
    verified: set[int] = field(default_factory=set)
    log: list[bytes] = field(default_factory=list)  # commands as received, PINs masked

    def __post_init__(self) -> None:
        if not self.tries:
            self.tries = dict(self.image.initial_tries)

    def power_cycle(self) -> None:
        self.selected_ap = self.selected_ef = None
        self.verified.clear()

    def process(self, raw: bytes) -> bytes:
        if len(raw) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        data, le = b"", None
        if len(body) == 1:  # case 2: Le only
            le = body[0]
        elif body:  # case 3 or 4: Lc, data, optional Le
            data = body[1 : 1 + body[0]]
            if len(data) != body[0]:
                return b"\x67\x00"
            le = body[1 + body[0]] if len(body) > 1 + body[0] else None
        self.log.append(bytes(raw[:4]) + (b"\x00" * len(data) if ins == 0x20 else data))
        if cla not in (0x00, 0x80):
            return b"\x6e\x00"
        if ins == 0xA4:
            return self._select(p1, data)
        if ins == 0x20:
            return self._verify(data)
        if ins == 0xB0:
            return self._read((p1 << 8) | p2, 256 if le in (None, 0) else le)
        if ins == 0x2A and cla == 0x80:
            return self._sign(data)
        return b"\x6d\x00"

    def _select(self, p1: int, data: bytes) -> bytes:
        if p1 == 0x04:
            self.selected_ef = None
            self.verified.clear()  # re-selecting an AP drops the verified state (OpenSC's logout)
            if data in self.image.files:
                self.selected_ap = data
                return b"\x90\x00"
            self.selected_ap = None
            return b"\x6a\x82"
        if p1 == 0x02 and len(data) == 2 and self.selected_ap is not None:
            fid = int.from_bytes(data, "big")
            if fid in self.image.files[self.selected_ap]:
                self.selected_ef = fid
                return b"\x90\x00"
            return b"\x6a\x82"
        return b"\x6a\x86"

    def _verify(self, pin: bytes) -> bytes:
        fid = self.selected_ef
        if fid not in self.tries:
            return b"\x69\x86"  # command not allowed: no PIN EF selected
        left = self.tries[fid]
        if not pin:
            return bytes([0x63, 0xC0 | left])
        if left == 0:
            return b"\x69\x83"  # authentication method blocked
        if pin == self.image.pins[fid]:
            self.tries[fid] = PIN_TRIES[fid]
            self.verified.add(fid)
            return b"\x90\x00"
        self.tries[fid] = left - 1
        self.verified.discard(fid)
        return bytes([0x63, 0xC0 | self.tries[fid]])

    def _read(self, offset: int, length: int) -> bytes:
        if self.selected_ap is None or self.selected_ef is None:
            return b"\x69\x86"
        if self.selected_ef in UNREADABLE:
            return b"\x69\x86"  # PINs and keys are not readable
        needed = PROTECTED.get((self.selected_ap, self.selected_ef))
        if needed is not None and needed not in self.verified:
            return b"\x69\x82"
        content = self.image.files[self.selected_ap][self.selected_ef]
        if offset >= len(content):
            return b"\x6b\x00"
        return content[offset : offset + length] + b"\x90\x00"

    def _sign(self, digest_info: bytes) -> bytes:
        if self.selected_ap != apdu.AID_JPKI or self.selected_ef != apdu.EF_AUTH_KEY:
            return b"\x69\x86"
        if apdu.EF_AUTH_PIN not in self.verified:
            return b"\x69\x82"
        prefix = apdu.SHA256_DIGEST_INFO_PREFIX
        if len(digest_info) != len(prefix) + 32 or not digest_info.startswith(prefix) or not self.image.auth_key:
            return b"\x6a\x80"  # only SHA-256 DigestInfos in this emulator
        digest = digest_info[len(prefix) :]
        signature = self.image.auth_key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return signature + b"\x90\x00"


class Emulator:
    """One card in one vpcd slot: insert() connects to vpcd, remove() disconnects."""

    def __init__(self, state: CardState, port: int, host: str = "127.0.0.1") -> None:
        self.state = state
        self.port = port
        self.host = host
        self.pull_after: int | None = None  # close the socket instead of answering APDU number N
        self.delay: float = 0.0  # seconds before each answer
        self.apdu_count = 0
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.removed = threading.Event()

    @property
    def inserted(self) -> bool:
        return self._socket is not None

    def insert(self) -> None:
        if self._socket is not None:
            return
        self.state.power_cycle()
        self.removed.clear()
        sock = socket.create_connection((self.host, self.port), timeout=10)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answer at once, as a card would
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True, name="card-emulator")
        self._thread.start()

    def remove(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.removed.set()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = _recv_exact(sock, 2)
                if header is None:
                    break
                payload = _recv_exact(sock, int.from_bytes(header, "big"))
                if payload is None:
                    break
                if len(payload) == 1:
                    if payload[0] in (0x00, 0x01, 0x02):
                        self.state.power_cycle()  # power off / on / reset: no reply
                    elif payload[0] == 0x04:
                        _send(sock, _atr())
                    continue
                self.apdu_count += 1
                if self.pull_after is not None and self.apdu_count >= self.pull_after:
                    break  # the card is pulled mid-command
                if self.delay:
                    time.sleep(self.delay)  # injected latency, not synchronisation
                _send(sock, self.state.process(payload))
        except OSError:
            pass
        finally:
            if self._socket is sock:
                self._socket = None
                sock.close()
                self.removed.set()


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    buffer = b""
    while len(buffer) < count:
        chunk = sock.recv(count - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    return buffer


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def emulator_for(persona_id: str, pki_dir: Path, port: int, kind: str = "mynumber") -> Emulator:
    pki = TestPki.load_or_create(pki_dir)
    return Emulator(CardState(CardImage.for_persona(persona(persona_id), pki, kind)), port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persona", default="adult")
    parser.add_argument("--port", type=int, default=40000, help="vpcd slot port (CHANNELID + slot)")
    parser.add_argument("--pki-dir", type=Path, default=Path("var/test-pki"))
    parser.add_argument("--kind", choices=["mynumber", "juki", "foreign"], default="mynumber")
    args = parser.parse_args()
    emulator = emulator_for(args.persona, args.pki_dir, args.port, args.kind)
    emulator.insert()
    print(f"card emulator: persona {args.persona} inserted on port {args.port} (synthetic data)")
    try:
        emulator.removed.wait()
    except KeyboardInterrupt:
        emulator.remove()


if __name__ == "__main__":
    main()
