"""Card flows: APDUs per flow against the reference's minimal sequence, and time per flow through our
library against a raw pyscard loop sending the same APDUs to the same emulator in the same run.

Needs pcscd and vsmartcard-vpcd (make setup) and no other pcscd running. Prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from smartcard import scard
from yoshin.smartcard import apdu
from yoshin.smartcard.card import open_card
from yoshin.smartcard.transport import PcscContext
from yoshin.tools.card_emulator import emulator_for
from yoshin.tools.virtual_reader import VirtualReader

ROUNDS = 30


def minimal_face(files: dict[int, bytes]) -> int:
    def reads(size: int) -> int:
        return 1 + -(-(size - 7) // 256)

    return 4 + (1 + reads(len(files[0x0002]))) + 2 + (1 + reads(len(files[0x0003])))


def minimal_auth(files: dict[int, bytes]) -> int:
    # SELECT AP, SELECT 000A + reads, SELECT 0018, counter, VERIFY, SELECT 0017, SIGN
    return 1 + 1 + (1 + -(-(len(files[0x000A]) - 7) // 256)) + 5


def raw_flow(reader: str, commands: list[bytes]) -> None:
    """The same APDUs with bare pyscard: one exclusive connection, transmit each, reset on disconnect."""
    _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _, handle, protocol = scard.SCardConnect(context, reader, scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_PROTOCOL_T1)
    for command in commands:
        result, _ = scard.SCardTransmit(handle, protocol, list(command))
        assert result == scard.SCARD_S_SUCCESS
    scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)
    scard.SCardReleaseContext(context)


def timed(function, rounds: int = ROUNDS) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, VirtualReader(Path(workdir)) as reader:
        slot = reader.slot_name(0)
        emulator = emulator_for("adult", Path(workdir) / "pki", reader.port(0))
        emulator.insert()
        with PcscContext() as context:
            assert context.wait_for_card(slot, 10)
        kenhojo = emulator.state.image.files[apdu.AID_KENHOJO]
        jpki = emulator.state.image.files[apdu.AID_JPKI]
        sent: list[bytes] = []

        def face() -> None:
            with open_card(slot) as card:
                card.channel.on_transmit = lambda command, _: sent.append(command.to_bytes())
                card.read_face("1234")

        def auth() -> None:
            with open_card(slot) as card:
                card.channel.on_transmit = lambda command, _: sent.append(command.to_bytes())
                card.jpki_authenticate("1234", b"challenge-" + bytes(22))

        face()
        face_commands, sent[:] = list(sent), []
        auth()
        auth_commands, sent[:] = list(sent), []
        results = {}
        for name, ours, commands, minimal in (
            ("face_read", face, face_commands, minimal_face(kenhojo)),
            ("jpki_auth", auth, auth_commands, minimal_auth(jpki)),
        ):
            raw_samples, our_samples = [], []
            for _ in range(3):  # interleave so machine noise hits both alike
                raw_samples += timed(lambda commands=commands: raw_flow(slot, commands), ROUNDS // 3)
                our_samples += timed(ours, ROUNDS // 3)
            raw_ms, our_ms = statistics.median(raw_samples) * 1000, statistics.median(our_samples) * 1000
            results[name] = {
                "apdus": len(commands),
                "minimal_apdus": minimal,
                "ms_ours_median": round(our_ms, 2),
                "ms_raw_pyscard_median": round(raw_ms, 2),
                "ratio_ours_to_raw": round(our_ms / raw_ms, 3),
                "goal_ratio_max": 1.10,
            }
        emulator.remove()
    print(json.dumps({"benchmark": "smartcard", "rounds": ROUNDS, **results}))


if __name__ == "__main__":
    main()
