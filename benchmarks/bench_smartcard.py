"""Card flows: APDUs per flow against the reference's minimal sequence, and time per flow through our
library against a raw pyscard loop sending the same APDUs to the same emulator in the same run; and the
APDUs of a whole kiosk visit (card screen to removal) through the real kiosk (Textual Pilot, the kiosk's
services, a host on loopback), held to the minimal sequence: exits 1 if the visit sends more.

Needs pcscd and vsmartcard-vpcd (make setup); its pcscd is isolated. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from smartcard import scard
from yoshin.devtools.card_emulator import emulator_for
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.smartcard import apdu
from yoshin.smartcard.card import open_card
from yoshin.smartcard.transport import PcscContext

ROUNDS = 30


def minimal_face(files: dict[int, bytes]) -> int:
    def reads(size: int) -> int:
        return 1 + -(-(size - 7) // 256)

    return 4 + (1 + reads(len(files[0x0002]))) + 2 + (1 + reads(len(files[0x0003])))


def minimal_auth(files: dict[int, bytes]) -> int:
    # SELECT AP, SELECT 000A + reads, SELECT 0018, counter, VERIFY, SELECT 0017, SIGN
    return 1 + 1 + (1 + -(-(len(files[0x000A]) - 7) // 256)) + 5


def minimal_visit(files: dict[int, bytes], jpki: dict[int, bytes]) -> int:
    """The PIN screen's face counter (SELECT AP, SELECT 0011, counter), the face read and, in its session,
    the JPKI link binding (finding 4: the APDUs of the JPKI flow)."""
    return 3 + minimal_face(files) + minimal_auth(jpki)


def kiosk_visit(workdir: Path, reader: VirtualReader) -> dict[str, object]:
    """One resident visit through the real kiosk; the emulator counts every APDU the card receives."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _setup import host_and_appliance

    from yoshin.devtools.personas import persona, registry_csv
    from yoshin.tui.app import KioskApp
    from yoshin.tui.screens.pin import PinScreen
    from yoshin.tui.screens.questionnaire import QuestionnaireScreen
    from yoshin.tui.screens.remove_card import RemoveCardScreen
    from yoshin.tui.screens.thanks import ThanksScreen
    from yoshin.tui.services import ApplianceServices

    server, appliance = host_and_appliance(workdir / "visit")
    server.service.registry.import_csv(registry_csv([persona("elderly")]))
    slot = reader.slot_name(0)
    emulator = emulator_for("elderly", workdir / "pki", reader.port(0))
    app = KioskApp(ApplianceServices(appliance, slot))

    async def until(pilot, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        await pilot.pause()
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not reached on {app.screen!r}")
            await pilot.pause(0.01)  # card workers run in threads; the condition ends the wait

    async def click(pilot, selector: str) -> None:
        await until(pilot, lambda: any(widget.region for widget in app.screen.query(selector)))
        await pilot.click(selector)

    async def visit() -> None:
        async with app.run_test(size=(100, 34)) as pilot:
            await click(pilot, "#ja")
            await click(pilot, "#agree")  # the card screen: it waits for the card
            emulator.insert()
            await until(
                pilot, lambda: isinstance(app.screen, PinScreen) and str(app.screen.query_one("#tries").render())
            )
            await pilot.press(*"2580", "enter")
            await click(pilot, "#yes")
            await click(pilot, "#v-flu_elderly-1")  # tick today's vaccination, then 次へ
            await click(pilot, "#vaccines-next")
            while True:
                await until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen) or app.screen.query("#submit"))
                if not isinstance(app.screen, QuestionnaireScreen):
                    break
                question, _, _ = app.screen.current()
                if question.type == "number":
                    app.screen.query_one("#value").value = "36.5"
                    await click(pilot, "#value-next")
                else:
                    yes = question.id in ("read_leaflet", "wants_vaccination")
                    await click(pilot, "#a-yes" if yes else "#a-no")
            await click(pilot, "#submit")
            await until(pilot, lambda: isinstance(app.screen, RemoveCardScreen))
            with PcscContext() as context:
                event = context.event_count(slot)
                emulator.remove()
                context.wait_for_removal(slot, 10, after_event=event)
            await until(pilot, lambda: isinstance(app.screen, ThanksScreen))

    try:
        asyncio.run(visit())
    finally:
        server.stop()
    files = emulator.state.image.files
    minimal = minimal_visit(files[apdu.AID_KENHOJO], files[apdu.AID_JPKI])
    return {"apdus": emulator.apdu_count, "minimal_apdus": minimal, "meets_minimal": emulator.apdu_count <= minimal}


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
        results: dict[str, dict[str, object]] = {}
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
        with PcscContext() as context:
            event = context.event_count(slot)
            emulator.remove()
            assert context.wait_for_removal(slot, 10, after_event=event)
        results["kiosk_visit"] = kiosk_visit(Path(workdir), reader)
    print(json.dumps({"benchmark": "smartcard", "rounds": ROUNDS, **results}))
    if not results["kiosk_visit"]["meets_minimal"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
