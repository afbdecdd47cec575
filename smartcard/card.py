"""Card services: identify the card, PIN counters, the face read and JPKI user authentication.

Each flow is the minimal APDU sequence of mynumber-card.md §4.3 and keeps the PIN rules of §12:
format checked before sending, the counter read first, the last try only with explicit confirmation,
no automatic retry, a blocked PIN sent to the municipal office.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yoshin.smartcard import apdu
from yoshin.smartcard.carddata import (
    MY_NUMBER_EF_LENGTH,
    BasicInfo,
    MyNumber,
    hashes_match,
    parse_basic_info,
    parse_my_number,
    verify_face_signature,
)
from yoshin.smartcard.errors import (
    CardDataError,
    LastTryConfirmationRequired,
    NotMyNumberCardError,
    PinBlockedError,
    PinFormatError,
    UnexpectedStatusError,
    WrongPinError,
)
from yoshin.smartcard.tlv import NeedMore, TLVError, parse_header
from yoshin.smartcard.transport import CardTransport, PcscContext

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


class Pin(enum.StrEnum):
    """The three PINs a clinic may meet, named as in `yoshin-card status`."""

    AUTH = "auth"  # 利用者証明用電子証明書 暗証番号, JPKI EF 0018
    FACE = "face"  # 券面事項入力補助用 暗証番号, kenhojo EF 0011
    SIGN = "sign"  # 署名用電子証明書 暗証番号, JPKI EF 001B: absent on a child's card


PIN_FILES = {
    Pin.AUTH: (apdu.AID_JPKI, apdu.EF_AUTH_PIN),
    Pin.FACE: (apdu.AID_KENHOJO, apdu.EF_FACE_PIN),
    Pin.SIGN: (apdu.AID_JPKI, apdu.EF_SIGN_PIN),
}
MAX_TRIES = {apdu.EF_AUTH_PIN: 3, apdu.EF_FACE_PIN: 3, apdu.EF_SIGN_PIN: 5}
EF_CAPS = {apdu.EF_AUTH_CERT: 4096, apdu.EF_BASIC_INFO: 1024, apdu.EF_FACE_SIGNATURE: 1024}
HEAD = 7  # read 7 bytes, parse tag and length, then read the rest (§4.1)


@dataclass(frozen=True, slots=True)
class PinStatus:
    """Tries left per PIN; None = not issued on this card (its application or PIN file is absent)."""

    auth: int | None
    face: int | None
    sign: int | None

    def get(self, pin: Pin) -> int | None:
        return {Pin.AUTH: self.auth, Pin.FACE: self.face, Pin.SIGN: self.sign}[pin]


@dataclass(frozen=True, slots=True)
class FaceEFs:
    """The three EFs exactly as read, for the sealed identity blob to the host."""

    my_number: bytes
    basic_info: bytes
    signature: bytes

    def __repr__(self) -> str:
        return "FaceEFs(<sealed for the host>)"


@dataclass(frozen=True, slots=True)
class JpkiAuth:
    certificate: bytes  # DER of EF 000A
    signature: bytes  # RSASSA-PKCS1-v1_5 over SHA-256(challenge)
    algorithm: str = "RSASSA-PKCS1-v1_5-SHA256"


class BindingSkip(enum.StrEnum):
    """Why a face read carries no JPKI binding (the host then records an unbound identity)."""

    NO_AUTH_PIN = "no_auth_pin"  # no JPKI-AP or no 利用者証明用 PIN on this card
    TRIES_NOT_FULL = "auth_pin_tries_not_full"  # its counter is below 3: never spend a try the resident may need
    PIN_DIFFERS = "auth_pin_differs"  # the face PIN is not the auth PIN: one try used, shown to the resident


@dataclass(frozen=True, slots=True)
class BindRequest:
    """Sign, in the face read's own card session, what `message` makes of the EFs just read (finding 4).

    `reference` is the caller's name for it (the host's challenge id), passed through untouched."""

    reference: str
    message: Callable[[FaceEFs], bytes]


@dataclass(frozen=True, slots=True)
class FaceBinding:
    """The JPKI user-auth key's signature over a message bound to the face read, or why there is none."""

    reference: str
    auth: JpkiAuth | None
    skipped: BindingSkip | None = None
    auth_tries_left: int | None = None  # after PIN_DIFFERS: what the resident is told


@dataclass(frozen=True, slots=True)
class FaceRead:
    basic_info: BasicInfo
    my_number: MyNumber
    raw: FaceEFs
    hashes_match: bool
    signature_valid: bool | None  # None: no J-LIS key configured
    binding: FaceBinding | None = None  # only when asked for (`read_face(bind=...)`)


def normalize_pin(pin: str) -> bytes:
    """Exactly 4 digits (full-width digits accepted and normalised); otherwise PinFormatError."""
    text = unicodedata.normalize("NFKC", pin).strip()
    if len(text) != 4 or not text.isascii() or not text.isdigit():
        raise PinFormatError()
    return text.encode("ascii")


class MyNumberCard:
    """The card services over one exclusive session: PC/SC (`open_card`) or in process (`loopback`)."""

    def __init__(self, channel: CardTransport) -> None:
        self.channel = channel

    # --- flows ------------------------------------------------------------------------------------

    def identify(self) -> str:
        """ "mynumber" or NotMyNumberCardError (kind "juki" or "unknown"): by SELECT + EF 0006, never ATR."""
        if not self._select_df(apdu.AID_JPKI):
            raise NotMyNumberCardError()
        self._expect_ok(self.channel.transmit(apdu.select_ef(apdu.EF_JPKI_TOKEN)), "SELECT token")
        token = self._expect_ok(self.channel.transmit(apdu.read_binary(0, 32)), "READ token")
        text = token.rstrip(b" \x00").decode("ascii", "replace")
        if text == "JPKIAPICCTOKEN2":
            return "mynumber"
        raise NotMyNumberCardError("juki" if text == "JPKIAPICCTOKEN" else "unknown")

    def pin_status(self) -> PinStatus:
        """All three retry counters via VERIFY without data, which uses no try.

        None where the PIN is not issued: its AP or PIN file is absent (a child's card has no
        signing PIN, SELECT EF 001B answers 6A82). JPKI is selected once for both of its PINs.
        """
        jpki = self._select_df(apdu.AID_JPKI)
        auth = self._counter_in_selected_ap(apdu.EF_AUTH_PIN) if jpki else None
        sign = self._counter_in_selected_ap(apdu.EF_SIGN_PIN) if jpki else None
        return PinStatus(auth=auth, face=self.pin_tries(Pin.FACE), sign=sign)

    def pin_tries(self, pin: Pin) -> int | None:
        """One PIN's tries left (3 APDUs: SELECT AP, SELECT EF, counter query); None if not issued."""
        aid, fid = PIN_FILES[pin]
        if not self._select_df(aid):
            return None
        return self._counter_in_selected_ap(fid)

    def read_face(
        self,
        pin: str,
        confirm_last_try: bool = False,
        jlis_key: rsa.RSAPublicKey | None = None,
        bind: BindRequest | None = None,
    ) -> FaceRead:
        """VERIFY the face PIN, then read basic 4 info, the My Number and the signature EF.

        With `bind`, the same session then signs `bind.message(EFs)` with the JPKI user-auth key, reusing
        the typed PIN once under the policy of `_bind` (docs/smartcard.md, "JPKI link binding")."""
        pin_bytes = normalize_pin(pin)
        if not self._select_df(apdu.AID_KENHOJO):
            raise NotMyNumberCardError()
        self._verify(apdu.EF_FACE_PIN, pin_bytes, confirm_last_try)
        basic_raw = self._read_ef(apdu.EF_BASIC_INFO)
        self._select_ef(apdu.EF_MY_NUMBER)
        number_raw = self._expect_ok(self.channel.transmit(apdu.read_binary(0, MY_NUMBER_EF_LENGTH)), "READ My Number")
        signature_raw = self._read_ef(apdu.EF_FACE_SIGNATURE)
        raw = FaceEFs(number_raw, basic_raw, signature_raw)
        basic_info, my_number = parse_basic_info(basic_raw), parse_my_number(number_raw)
        return FaceRead(
            basic_info=basic_info,
            my_number=my_number,
            raw=raw,
            hashes_match=hashes_match(number_raw, basic_raw, signature_raw),
            signature_valid=None if jlis_key is None else verify_face_signature(signature_raw, jlis_key),
            binding=None if bind is None else self._bind(pin_bytes, raw, bind),
        )

    def _bind(self, pin: bytes, raw: FaceEFs, bind: BindRequest) -> FaceBinding:
        """Finding 4: the card that was just read signs a message bound to that read, in the same session.

        Residents often give the face PIN and the 利用者証明用 PIN the same value; the typed PIN, already
        proven right for the face PIN, is tried once on the auth PIN, and only while that counter is at its
        maximum (3). So no try is spent that the resident might need: a differing PIN costs at most one, the
        kiosk says so, and the card is not tried again until a correct use elsewhere restores the counter.
        """
        if not self._select_df(apdu.AID_JPKI):  # re-selecting also drops the face PIN's verified state
            return FaceBinding(bind.reference, None, BindingSkip.NO_AUTH_PIN)
        tries = self._counter_in_selected_ap(apdu.EF_AUTH_PIN)
        if tries is None:
            return FaceBinding(bind.reference, None, BindingSkip.NO_AUTH_PIN)
        if tries < MAX_TRIES[apdu.EF_AUTH_PIN]:
            return FaceBinding(bind.reference, None, BindingSkip.TRIES_NOT_FULL, tries)
        try:
            self._verify_selected(pin, tries, confirm_last_try=False)
        except WrongPinError as error:
            return FaceBinding(bind.reference, None, BindingSkip.PIN_DIFFERS, error.tries_left)
        signature = self._sign_auth(bind.message(raw))
        # The certificate last (the same APDUs as §4.3's JPKI flow, none spent on it when the binding is skipped)
        return FaceBinding(bind.reference, JpkiAuth(self._read_ef(apdu.EF_AUTH_CERT), signature))

    def jpki_authenticate(self, pin: str, challenge: bytes, confirm_last_try: bool = False) -> JpkiAuth:
        """Read the user-auth certificate, VERIFY the auth PIN and sign DigestInfo(SHA-256(challenge))."""
        pin_bytes = normalize_pin(pin)
        if not challenge:
            raise ValueError("the host's challenge must not be empty")
        if not self._select_df(apdu.AID_JPKI):
            raise NotMyNumberCardError()
        certificate = self._read_ef(apdu.EF_AUTH_CERT)
        self._verify(apdu.EF_AUTH_PIN, pin_bytes, confirm_last_try)
        return JpkiAuth(certificate=certificate, signature=self._sign_auth(challenge))

    def _sign_auth(self, message: bytes) -> bytes:
        """SIGN DigestInfo(SHA-256(message)) with the user-auth key (its PIN verified in this session)."""
        self._select_ef(apdu.EF_AUTH_KEY)
        digest_info = apdu.sha256_digest_info(hashlib.sha256(message).digest())
        signature = self._expect_ok(self.channel.transmit(apdu.jpki_sign(digest_info)), "SIGN")
        if len(signature) != 256:
            raise CardDataError("the signature is not RSA-2048")
        return signature

    # --- steps ------------------------------------------------------------------------------------

    def _select_df(self, aid: bytes) -> bool:
        response = self.channel.transmit(apdu.select_df(aid))
        if response.sw == 0x6A82:
            return False
        self._expect_ok(response, "SELECT AP")
        return True

    def _select_ef(self, fid: int) -> None:
        self._expect_ok(self.channel.transmit(apdu.select_ef(fid)), f"SELECT EF {fid:04X}")

    def _counter(self) -> int:
        response = self.channel.transmit(apdu.verify_query())
        if response.sw & 0xFFF0 == 0x63C0:
            return response.sw & 0x0F
        if response.sw in (0x6983, 0x6984):
            return 0
        if response.ok:
            return -1  # already verified in this session: the card does not say the count
        raise UnexpectedStatusError(response.sw, "PIN counter")

    def _counter_in_selected_ap(self, fid: int) -> int | None:
        response = self.channel.transmit(apdu.select_ef(fid))
        if response.sw == 0x6A82:
            return None  # no such PIN file on this card
        self._expect_ok(response, f"SELECT EF {fid:04X}")
        count = self._counter()
        return MAX_TRIES[fid] if count < 0 else count

    def _verify(self, fid: int, pin: bytes, confirm_last_try: bool) -> None:
        """Counter first; refuse a blocked PIN; the last try needs confirmation; exactly one VERIFY."""
        self._select_ef(fid)
        self._verify_selected(pin, self._counter(), confirm_last_try)

    def _verify_selected(self, pin: bytes, tries: int, confirm_last_try: bool) -> None:
        """VERIFY the PIN EF just selected, whose counter was just read as `tries`."""
        if tries == 0:
            raise PinBlockedError()
        if tries == 1 and not confirm_last_try:
            raise LastTryConfirmationRequired()
        # Sent once, never retried. If the card is pulled now, whether the try counted is unknown:
        # the next session reads the counter again before anything else.
        response = self.channel.transmit(apdu.verify(pin))
        if response.ok:
            return
        if response.sw & 0xFFF0 == 0x63C0:
            left = response.sw & 0x0F
            raise PinBlockedError() if left == 0 else WrongPinError(left)
        if response.sw in (0x6983, 0x6984):
            raise PinBlockedError()
        raise UnexpectedStatusError(response.sw, "VERIFY")

    def _read_ef(self, fid: int) -> bytes:
        """SELECT the EF, read 7 bytes, parse the BER header, read the rest in chunks of <= 256."""
        self._select_ef(fid)
        head = self._expect_ok(self.channel.transmit(apdu.read_binary(0, HEAD)), f"READ {fid:04X}")
        try:
            total = parse_header(head).total
        except NeedMore:
            raise CardDataError(f"EF {fid:04X} is shorter than its header") from None
        except TLVError as error:
            raise CardDataError(f"EF {fid:04X}: {error}") from None
        if total > EF_CAPS.get(fid, 1024):
            raise CardDataError(f"EF {fid:04X} claims {total} bytes")
        data = bytearray(head[:total])
        while len(data) < total:
            chunk = min(apdu.MAX_READ, total - len(data))
            response = self.channel.transmit(apdu.read_binary(len(data), chunk))
            if response.sw == 0x6B00 or (response.ok and not response.data):
                raise CardDataError(f"EF {fid:04X} ended after {len(data)} of {total} bytes")
            data += self._expect_ok(response, f"READ {fid:04X}")
        return bytes(data[:total])

    @staticmethod
    def _expect_ok(response: apdu.Response, context: str) -> bytes:
        if not response.ok:
            raise UnexpectedStatusError(response.sw, context)
        return response.data


@contextmanager
def open_card(
    reader: str | None = None, context: PcscContext | None = None, production: bool | None = None
) -> Iterator[MyNumberCard]:
    """An exclusive session with the card in `reader` (default: the first reader holding a card).

    On the way out, errors included, the card is reset: no verified state survives.
    """
    own = context is None
    pcsc = context or PcscContext()
    try:
        channel = pcsc.connect(pcsc.choose_reader(reader), production=production)
        try:
            yield MyNumberCard(channel)
        finally:
            channel.close()
    finally:
        if own:
            pcsc.release()
