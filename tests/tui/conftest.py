"""Kiosk fixtures: the real kiosk services on an enrolled appliance, a real host, a card in pcscd."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import textual
from textual.css.query import NoMatches

from yoshin.device.agent import SOCKET_NAME, AgentClient, AgentServer, LocalCore
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder, Round
from yoshin.device.hostclient import HostAddress
from yoshin.devtools.card_emulator import CardImage, CardState, Emulator
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.host import staff, technicians
from yoshin.smartcard.transport import PcscContext
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_vaccination import SecondCheckScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.vaccine import VaccineScreen
from yoshin.tui.services import ApplianceServices

STAFF_PASSWORD = "correct-horse-battery"


@pytest.fixture
def kiosk(make_device, virtual_reader: VirtualReader, clock) -> Iterator[Callable[..., KioskApp]]:
    """The resident kiosk as on an appliance: its keys, queue and host behind the appliance agent, over the
    agent's real Unix socket (the agent serves from a thread here; tests/device/test_agent.py runs it as
    its own process)."""
    servers: list[AgentServer] = []

    def build(idle_timeout: float = 90.0, **devices: object) -> KioskApp:
        device = make_device()
        path = Path(tempfile.mkdtemp(prefix="yoshin-agent-")) / SOCKET_NAME  # short: a socket path is <108 bytes
        servers.append(AgentServer(LocalCore(device.appliance, clock), path).start())
        agent = AgentClient(path)
        services = ApplianceServices(device.appliance, virtual_reader.slot_name(0), clock, agent=agent, **devices)  # type: ignore[arg-type]
        return KioskApp(services, idle_timeout=idle_timeout, clock=clock)

    build.agents = servers  # type: ignore[attr-defined]  (a test stops and restarts its kiosk's agent)
    yield build
    for server in servers:
        server.close()


@pytest.fixture
def staff_accounts(host) -> dict[str, str]:
    """A doctor, two nurses and a technician of the host's municipality, all with STAFF_PASSWORD."""
    accounts = {"D0001": "doctor", "N0001": "nurse", "N0002": "nurse", "T0001": "technician"}
    for staff_id, role in accounts.items():
        if role == "technician":  # on the roster too (control 27)
            technicians.add(
                host.service.db, staff_id, f"{role} {staff_id}", "141305", STAFF_PASSWORD, "保守株式会社", "clinic",
                host.service.clock(),
            )  # fmt: skip
            continue
        staff.add(host.service.db, staff_id, f"{role} {staff_id}", role, "141305", STAFF_PASSWORD, host.service.clock())
    return accounts


class Drive:
    """Steps of a kiosk test, shared by the test files: waiting on conditions, a visit's standard moves."""

    @staticmethod
    async def until(pilot, condition, app: KioskApp, timeout: float = 15.0) -> None:
        """Wait for a condition on the app, not for time: card workers block on PC/SC events in threads,
        so the test yields to the event loop until the screen changes, with a deadline."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            await pilot.pause()
            with contextlib.suppress(NoMatches):  # the widget asked about may not be mounted yet
                if condition():
                    return
            await asyncio.sleep(0.02)  # yield to the worker threads; the condition, not this, ends the wait
        raise AssertionError(
            f"condition not reached on {app.screen!r}: {[str(w.render()) for w in app.screen.query('Static')]}"
        )

    async def click(self, pilot, app: KioskApp, selector: str) -> None:
        """Click a button once it is laid out (a screen switched to from a worker lays out a frame later)
        and not showing its 0.2 s press effect (a button ignores a second press meanwhile: a debounce)."""
        await self.until(pilot, lambda: any(button.region for button in app.screen.query(selector)), app)
        button = app.screen.query_one(selector)
        await self.until(pilot, lambda: not button.has_class("-active"), app)
        await pilot.click(selector)

    async def start_visit(self, pilot, app: KioskApp, lang: str = "ja") -> None:
        await self.click(pilot, app, f"#{lang}")
        await self.until(pilot, lambda: bool(app.screen.query("#agree")), app)
        await self.click(pilot, app, "#agree")
        await self.until(pilot, lambda: isinstance(app.screen, PinScreen), app)

    async def type_pin(self, pilot, app: KioskApp, pin: str, keypad: bool = False) -> None:
        """The PIN by on-screen keypad (touch or mouse) or by keyboard; both must work."""
        await self.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        if keypad:
            for digit in pin:
                await pilot.click(f"#k{digit}")
            await pilot.click("#ok")
        else:
            app.screen.query_one("#pin").focus()
            await pilot.press(*pin, "enter")

    async def choose(self, pilot, app: KioskApp, *selectors: str) -> None:
        """Tick today's vaccinations on the vaccine screen (one or several), then 次へ."""
        await self.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        for selector in selectors:
            await self.click(pilot, app, selector)
        await self.click(pilot, app, "#vaccines-next")
        await self.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)

    async def answer_all(self, pilot, app: KioskApp, yes: set[str], temperature: str = "３６．５") -> None:
        """Answer every question shown: `yes` for those in `yes`, "no" otherwise, the first choice, a temperature.
        Started on the vaccine screen with a vaccination ticked, it goes on with 次へ first."""
        if isinstance(app.screen, VaccineScreen) and app.screen.selected:
            await self.click(pilot, app, "#vaccines-next")
            await self.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        for _ in range(80):
            screen = app.screen
            if not isinstance(screen, QuestionnaireScreen):
                return
            question, _, _ = screen.current()
            assert question is not None
            if question.type == "number":
                if temperature is not None:
                    screen.query_one("#value").value = temperature
                await pilot.click("#value-next")
            elif question.type == "single_choice":
                await pilot.click(f"#c-{question.choices[0].value}")
            else:
                await pilot.click("#a-yes" if question.id in yes else "#a-no")
            await pilot.pause()
        raise AssertionError("the questionnaire did not end")

    async def submit_and_leave(self, pilot, app: KioskApp, card, emulator) -> None:
        """送信 on the review screen, then the resident takes the card: 「カードをお取りください」 until it is
        off the reader, then the thanks screen."""
        await self.click(pilot, app, "#submit")
        await self.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
        await self.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)

    async def second_check(self, pilot, app, checker: str = "N0002", password: str = STAFF_PASSWORD) -> None:
        """The second person confirms on the check screen with their ID and password."""
        app.screen.query_one("#checker").value = checker
        app.screen.query_one("#password").value = password
        await self.click(pilot, app, "#confirm")

    async def override_with_reason(self, pilot, app, reason: str) -> None:
        """On the guard screen the doctor overrides: refused without a reason, then given one, on to the
        second person's check."""
        await self.click(pilot, app, "#override")
        await self.until(pilot, lambda: "理由" in str(app.screen.query_one("#error").render()), app)
        app.screen.query_one("#reason").value = reason
        await self.click(pilot, app, "#override")
        await self.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)

    @staticmethod
    def forward(appliance: Appliance) -> list[Round]:
        """Forward the appliance's whole queue to its host, as the forwarder does; its rounds."""
        outbox = appliance.outbox()
        try:
            return Forwarder(outbox, appliance.client()).drain()
        finally:
            outbox.close()

    def drain(self, appliance: Appliance) -> int:
        """`forward`, and how many records the host accepted."""
        return sum(result.accepted for result in self.forward(appliance))

    @staticmethod
    @contextlib.contextmanager
    def host_down(appliance: Appliance) -> Iterator[None]:
        """The clinic's line to the host is down: the appliance points at a port nobody listens on, until
        the block ends."""
        online = appliance.host_address()
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
            appliance.save_host(HostAddress("127.0.0.1", port, port))
            try:
                yield
            finally:
                appliance.save_host(online)


@pytest.fixture
def drive() -> Drive:
    return Drive()


@pytest.fixture
def card(virtual_reader: VirtualReader, test_pki: DevPki):
    inserted: list[tuple[Emulator, int]] = []
    slot = virtual_reader.slot_name(0)

    def insert(persona_id: str = "elderly") -> Emulator:
        emulator = Emulator(CardState(CardImage.for_persona(persona(persona_id), test_pki)), virtual_reader.port(0))
        emulator.insert()
        with PcscContext() as context:
            assert context.wait_for_card(slot, 10)
            inserted.append((emulator, context.event_count(slot)))
        return emulator

    def remove(emulator: Emulator) -> None:
        with PcscContext() as context:
            event = context.event_count(slot)
            emulator.remove()
            assert context.wait_for_removal(slot, 10, after_event=event)

    insert.remove = remove  # type: ignore[attr-defined]
    yield insert
    with PcscContext() as context:
        for emulator, event in inserted:
            if emulator.inserted:
                emulator.remove()
                context.wait_for_removal(slot, 10, after_event=event)


@pytest.fixture
def io_board(tmp_path):
    """The I/O board: the unmodified firmware under real MicroPython behind a pty (firmware_tests' simulator)."""
    import importlib.util

    from yoshin.device.ioboard import IOBoard

    path = Path(__file__).resolve().parents[2] / "firmware_tests" / "fwsupport.py"
    spec = importlib.util.spec_from_file_location("fwsupport", path)
    assert spec is not None and spec.loader is not None
    fwsupport = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fwsupport)
    (tmp_path / "board").mkdir()
    simulator = fwsupport.Simulator(tmp_path / "board")
    simulator.start()
    board = IOBoard(port=str(simulator.link), backoff=(0.1, 0.5)).start()
    assert board.wait_for(lambda b: b.status.connected, 10)
    yield board, simulator
    board.close()
    simulator.unplug()


@pytest.fixture
def pcscd_outage(virtual_reader: VirtualReader):
    """pcscd going away and coming back, on the run's own isolated pcscd: `stop()` ends the daemon (the
    reader and any card vanish), `start()` brings it back on the same socket and ports. Restored
    whatever the test did, so the tests after it find their reader."""

    class Outage:
        @staticmethod
        def stop() -> None:
            virtual_reader.stop()

        @staticmethod
        def start() -> None:
            virtual_reader.start()

    yield Outage()
    if virtual_reader.process is None:
        virtual_reader.start()


# --- screenshots (test_screens.py, test_staff_screens.py) ----------------------------------------------------

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "kiosk"
BASELINE_VERSION = SHOTS / "textual-version.txt"  # the Textual that rendered the committed SVGs


class Snapshots:
    """Compares each screen with its SVG in docs/kiosk/; rewrites them only when asked by the flag."""

    def __init__(self, update: bool, out: Path) -> None:
        self.update, self.out = update, out
        self.mismatches: list[str] = []

    def check(self, name: str, svg: str) -> None:
        path = SHOTS / f"{name}.svg"
        if self.update:
            path.write_text(svg)
        elif not path.exists() or path.read_text() != svg:
            self.mismatches.append(name)
            (self.out / path.name).write_text(svg)  # the test's tmp dir: docs/ keeps only the baselines

    def failure(self) -> str:
        baseline = BASELINE_VERSION.read_text().strip()
        return (
            f"screens differ from docs/kiosk/ (made with Textual {baseline}, this is {textual.__version__}); "
            f"the screens as rendered are in {self.out}: {self.mismatches}"
        )


@pytest.fixture
def snapshots(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Snapshots]:
    """`pytest --update-snapshots` rewrites the baselines, refused unless Textual is their version: another
    version renders differently, and its SVGs must not replace the baselines silently."""
    update = bool(request.config.getoption("--update-snapshots"))
    baseline = BASELINE_VERSION.read_text().strip()
    if update and textual.__version__ != baseline:
        pytest.fail(f"--update-snapshots refused: the baselines are from Textual {baseline}, not {textual.__version__}")
    yield Snapshots(update, tmp_path)
    if update:
        BASELINE_VERSION.write_text(textual.__version__ + "\n")
