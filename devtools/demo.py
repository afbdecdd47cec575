"""`yoshin-demo`: the whole chain on one machine with embedded defaults and synthetic data only.

It starts an isolated pcscd with a virtual reader, the card emulator holding a synthetic persona, a host
loaded with a synthetic registry (a child with a guardian, an older adult, ...), a freshly enrolled
appliance, and runs visits: card + PIN through real PC/SC, identity sealed to the host, the
questionnaire from the template, the doctor's decision and the vaccination record sealed into the
outbox, forwarded over mutual TLS. In a terminal the kiosk itself starts (F5 takes the card out or puts it
back, F6 changes the persona, Ctrl-C stops everything); without one, visits run from typed commands.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import click
from textual import work
from textual.binding import Binding

from yoshin.device import provisioning, visit
from yoshin.device.agent import SOCKET_NAME, AgentClient
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostAddress
from yoshin.devtools.card_emulator import CardImage, CardState, Emulator
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import Persona, all_personas, persona, registry_csv
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.domain.clock import today
from yoshin.domain.contract import Decision, Route, Site
from yoshin.domain.templates import SubjectContext, default_templates, visible_questions
from yoshin.host import devices, staff, technicians
from yoshin.host.server import HostServer, HostService
from yoshin.smartcard.transport import PcscContext
from yoshin.tui.app import KioskApp
from yoshin.tui.services import ApplianceServices

MUNICIPALITY, CLINIC = "141305", "1410000001"
DEMO_STAFF = (
    ("D0001", "医師 一郎 (demo)", "doctor"),
    ("N0001", "看護 花子 (demo)", "nurse"),
    ("N0002", "看護 次郎 (demo)", "nurse"),
    ("C0001", "受付 四子 (demo)", "clerk"),  # reception's identity check (control 4)
    ("T0001", "技術 三郎 (demo)", "technician"),
)
STAFF_PORT = 8471
DEMO_PASSWORD = "demo-password-not-secret"  # noqa: S105 (synthetic demo accounts, printed on purpose)
DEMO_TECHNICIAN = "T0001"
DEMO_COMPANY = "デモ保守株式会社 (synthetic)"
DEMO_PLACE = "デモ診療所 (synthetic)"


@dataclass
class Chain:
    """The running parts of the demo."""

    workdir: Path
    reader: VirtualReader
    pki: DevPki
    host: HostServer
    appliance: Appliance
    agent: Path | None = None  # the appliance agent's socket, when it runs (`forward`)
    emulator: Emulator | None = None
    persona: Persona | None = None

    @property
    def slot(self) -> str:
        return self.reader.slot_name(0)

    def insert(self, persona_id: str) -> Persona:
        self.remove()
        who = persona(persona_id)
        self.emulator = Emulator(CardState(CardImage.for_persona(who, self.pki)), self.reader.port(0))
        self.emulator.insert()
        with PcscContext() as context:
            if not context.wait_for_card(self.slot, 10):
                raise RuntimeError("pcscd did not see the card")
        self.persona = who
        return who

    def remove(self) -> None:
        if self.emulator is not None:
            with PcscContext() as context:
                inserted = context.event_count(self.slot)
                self.emulator.remove()
                context.wait_for_removal(self.slot, 10, after_event=inserted)
            self.emulator = None


@contextmanager
def running_chain(workdir: Path, reader: VirtualReader | None = None, forward: bool = False) -> Iterator[Chain]:
    """Start everything in `workdir` (wiped first: demo data is synthetic and disposable).

    A process has one pcscd (libpcsclite picks its socket once), so a caller that already runs a
    VirtualReader passes it; otherwise the chain starts its own. With `forward`, the appliance agent and its
    forwarder run as on a real appliance (`yoshin-device serve`, its own process): the kiosk asks it for the
    keys, queue and host (`chain.agent`), and records reach the host with no manual step.
    """
    workdir = workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        reader = reader or stack.enter_context(VirtualReader(workdir / "pcscd"))
        service = HostService.open(workdir / "host")
        service.registry.import_csv(registry_csv(list(all_personas().values())))
        pki = DevPki.load_or_create(workdir / "test-pki")
        service.jlis_key = pki.jlis_key.public_key()
        service.jpki_anchors = [pki.ca_cert]
        for staff_id, name, role in DEMO_STAFF:
            if role == technicians.ROLE:  # on the host's technician roster too (control 27)
                technicians.add(
                    service.db, staff_id, name, MUNICIPALITY, DEMO_PASSWORD, DEMO_COMPANY, DEMO_PLACE,
                    datetime.now(UTC),
                )  # fmt: skip
            else:
                staff.add(service.db, staff_id, name, role, MUNICIPALITY, DEMO_PASSWORD, datetime.now(UTC))
        with HostServer(service) as host:
            token = devices.issue_token(service.db, MUNICIPALITY, CLINIC, "demo-admin", datetime.now(UTC))
            address = HostAddress("127.0.0.1", host.port, host.enroll_port)
            appliance = Appliance(workdir / "device")
            # provisioned as a technician does it (yoshin-provision, the technician screen): T0001 logs in,
            # the host checks them against its roster and names them in the audit of the enrollment
            technician = provisioning.technician_login(
                appliance, DEMO_TECHNICIAN, DEMO_PASSWORD, [address], service.pki.ca_fingerprint, MUNICIPALITY
            )
            provisioning.provision(appliance, technician, token, CLINIC, "DEMO01", place=DEMO_PLACE)
            chain = Chain(workdir, reader, pki, host, appliance)
            if forward:
                stack.enter_context(appliance_agent(appliance.data_dir))
                chain.agent = appliance.data_dir / SOCKET_NAME
            try:
                yield chain
            finally:
                chain.remove()


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


@contextmanager
def appliance_agent(data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`yoshin-device serve` on `data_dir` (the agent and its forwarder), once its socket accepts."""
    with child_process([tool("yoshin-device"), "serve", "--data-dir", str(data_dir)], subprocess.PIPE) as agent:
        if agent.stdout is None or not agent.stdout.readline():  # its one line: the socket accepts
            raise RuntimeError("the appliance agent (yoshin-device serve) did not start")
        yield agent


@contextmanager
def child_process(command: list[str], stdout: int = subprocess.DEVNULL) -> Iterator[subprocess.Popen[bytes]]:
    """A part of the demo in its own process (it inherits the demo's pcscd socket), stopped with the demo."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_staff_app(chain: Chain, stack: contextlib.ExitStack, port: int = STAFF_PORT) -> str:
    """The staff app for a browser, as a clinic runs it (yoshin-kiosk --staff --serve, TLS on loopback)."""
    command = [tool("yoshin-kiosk"), "--staff", "--serve", "--port", str(port)]
    command += ["--data-dir", str(chain.appliance.data_dir), "--reader", chain.slot, "--board", "none"]
    stack.enter_context(child_process(command))
    return f"https://127.0.0.1:{port}/"


def healthy_answers(template: Any, context: SubjectContext) -> dict[str, Any]:
    """The answers of a well person (the kiosk collects real ones): every visible question, the safe way."""
    answers: dict[str, Any] = {}
    for _ in range(3):  # conditional questions appear as earlier answers are set
        for question in visible_questions(template, answers, context):
            if question.id in answers:
                continue
            if question.type == "yes_no":
                answers[question.id] = question.id in ("read_leaflet", "wants_vaccination", "guardian_consent")
            elif question.type == "number":
                answers[question.id] = 36.4
            elif question.type == "single_choice":
                answers[question.id] = question.choices[0].value
    return answers


def run_visit(chain: Chain, pin: str, drain: bool = True) -> dict[str, Any]:
    """One visit without a screen, through the kiosk's own services and visit layer (card, sealed identity,
    host, records): returns what the host answered and what was delivered (with `drain`; otherwise the
    records stay queued for the forwarder)."""
    appliance = chain.appliance
    services = ApplianceServices(appliance, chain.slot)
    face = services.read_face(pin, confirm_last_try=False)
    answer = services.resolve(face)
    if answer is None:
        return {"identity": {"status": "offline"}}
    subject = answer.subject
    if subject is None:
        return {"identity": answer.to_json()}
    due = subject.due
    if not due:
        return {"identity": {"status": "ok", "subject_id": subject.subject_id, "due": []}}
    vaccine = due[0].vaccine_code
    now = datetime.now(UTC)
    on = today(now)
    template = default_templates().for_vaccine(vaccine, on)
    assert template is not None
    context = visit.subject_context(face.basic_info.birth_date, face.basic_info.sex, now)
    pending = visit.submit_answers(
        services,
        face=face,
        template=template,
        answers=healthy_answers(template, context),
        context=context,
        subject=subject,
        dose_number=due[0].dose_number or 1,
        language="ja",
        started_at=now,
        now=now,
    )
    # the host verifies each of them and signs their attestations, which the records carry (seam 5)
    doctor, nurse, checker = (services.attest(member[0], DEMO_PASSWORD) for member in DEMO_STAFF[:3])
    pending = visit.record_decision(
        services, pending, doctor.member, Decision.PROCEED, reason=None, override_reason=None,
        explanation_given=True, now=now, proofs=visit.Proofs(decided_by=doctor.token),
    )  # fmt: skip
    product = chain.host.service.catalogue.products_for(vaccine, on)[0]
    site = Site.ORAL if product.route == Route.ORAL else Site.LEFT_UPPER_ARM
    given = visit.Administration(product, "DEMO001", on.replace(year=on.year + 1), site, product.dose_ml)
    proofs = visit.Proofs(entered_by=nurse.token, checked_by=checker.token)
    visit.record_vaccination(
        services, pending, given, nurse.member, checker.member, now=now, catalogue=services.rules().catalogue,
        proofs=proofs,
    )  # fmt: skip
    outbox = appliance.outbox()
    try:
        rounds = Forwarder(outbox, appliance.client()).drain() if drain else None
        return {
            "identity": {"status": "ok", "subject_id": subject.subject_id, "due": [d.vaccine_code for d in due]},
            "vaccine": vaccine,
            "flags": [f"{f.question_id}:{f.flag}" for f in pending.questionnaire.flags],
            "delivered": None
            if rounds is None
            else {status: sum(getattr(r, status) for r in rounds) for status in ("accepted", "duplicate", "rejected")},
            "queue_depth_after": outbox.status().depth,
        }
    finally:
        outbox.close()


class DemoKioskApp(KioskApp):
    """The kiosk with the demo's own keys. A real kiosk has no way out; the demo must stop with Ctrl-C."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("f5", "toggle_card", "card in/out", priority=True),
        Binding("f6", "next_persona", "next persona", priority=True),
        Binding("ctrl+c", "stop_demo", "stop", priority=True),
    ]

    def __init__(self, chain: Chain) -> None:
        agent = AgentClient(chain.agent) if chain.agent else None
        super().__init__(ApplianceServices(chain.appliance, chain.slot, agent=agent))
        self.chain = chain

    def on_mount(self) -> None:
        super().on_mount()
        self.tell()

    def tell(self) -> None:
        self.notify(self.card_line(), timeout=30)

    def card_line(self) -> str:
        """Which card is on the reader, or which one F5 puts there, and its PIN."""
        who = self.chain.persona
        if who is None:
            card = "none"
        elif self.chain.emulator is not None:
            card = f"{who.id} ({who.label_en}) PIN {who.pins['face']}"
        else:
            card = f"out, F5 puts in {who.id} ({who.label_en}) PIN {who.pins['face']}"
        return f"DEMO, synthetic data. Card: {card}. F5 card in/out, F6 next persona, Ctrl-C stop"

    @work(thread=True, exclusive=True, group="demo")
    def action_toggle_card(self) -> None:
        if self.chain.emulator is not None:
            self.chain.remove()
        else:
            self.chain.insert(self.chain.persona.id if self.chain.persona else "elderly")
        self.call_from_thread(self.tell)

    @work(thread=True, exclusive=True, group="demo")
    def action_next_persona(self) -> None:
        ids = list(all_personas())
        current = self.chain.persona.id if self.chain.persona else ids[-1]
        self.chain.insert(ids[(ids.index(current) + 1) % len(ids)])
        self.call_from_thread(self.tell)

    def action_stop_demo(self) -> None:
        self.exit()


HELP = """Commands (type and press Enter):  visit | remove | insert | persona NAME | personas | quit"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
@click.option("--persona", "persona_id", default="elderly", show_default=True, help="Synthetic persona on the card.")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"), show_default=True
)
@click.option("--check", is_flag=True, help="Run one visit, print the result as JSON and stop (for tests and CI).")
@click.option("--no-kiosk", is_flag=True, help="Type commands instead of running the kiosk in this terminal.")
@click.option("--staff-port", type=int, default=STAFF_PORT, show_default=True, help="Staff app's port; 0: none.")
def main(persona_id: str, data_dir: Path, check: bool, no_kiosk: bool, staff_port: int) -> None:
    """Start the end-to-end demo: virtual reader, card emulator, host, enrolled appliance, and visits.

    All data is synthetic. Stop everything with Ctrl-C.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C: a clean stop of every part, exit 0
    with running_chain(data_dir, forward=not check) as chain, contextlib.ExitStack() as parts:
        who = chain.insert(persona_id)
        if check:
            click.echo(json.dumps(run_visit(chain, who.pins["face"]), ensure_ascii=False))
            return
        host = chain.host
        staff_url = start_staff_app(chain, parts, staff_port) if staff_port else None
        click.echo("yoshin demo: ALL DATA IS SYNTHETIC.")
        click.echo(f"  host: https://127.0.0.1:{host.port} (mutual TLS), enrollment port {host.enroll_port}")
        click.echo(f"  reader: {chain.slot}; card: persona {who.id} ({who.label_en}), PIN {who.pins['face']}")
        click.echo(f"  staff logins: {', '.join(s[0] for s in DEMO_STAFF)}, password {DEMO_PASSWORD}")
        click.echo("  (D0001 doctor, N0001 and N0002 nurses, C0001 reception clerk, T0001 technician)")
        click.echo("  the appliance's forwarder sends records to the host by itself")
        if staff_url:
            click.echo(f"  staff app: {staff_url} in a browser (self-signed certificate: accept it once)")
        if sys.stdin.isatty() and sys.stdout.isatty() and not no_kiosk:
            click.echo("  starting the kiosk: F5 card in/out, F6 next persona, Ctrl-C stops everything")
            chain.remove()  # a kiosk starts with an empty reader: welcome first, the card at the card step (F5)
            DemoKioskApp(chain).run()
            click.echo("yoshin demo: stopping")
            return
        click.echo("  try in another terminal: yoshin-card face --json   (type the PIN, then Enter)")
        click.echo("  type `visit` here to run one visit without a screen")
        click.echo(HELP)
        reader = threading.Thread(target=_commands, args=(chain, stop), daemon=True)
        reader.start()
        stop.wait()
        click.echo("yoshin demo: stopping")


def _commands(chain: Chain, stop: threading.Event) -> None:
    for line in sys.stdin:
        words = line.split()
        try:
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] == "visit" and chain.persona is not None:
                click.echo(json.dumps(run_visit(chain, chain.persona.pins["face"]), ensure_ascii=False))
            elif words[0] == "remove":
                chain.remove()
                click.echo("card removed")
            elif words[0] == "insert":
                click.echo(f"card inserted: {chain.insert(chain.persona.id if chain.persona else 'elderly').id}")
            elif words[0] == "persona" and len(words) == 2:
                who = chain.insert(words[1])
                click.echo(f"card inserted: {who.id} ({who.label_en}), PIN {who.pins['face']}")
            elif words[0] == "personas":
                for who in all_personas().values():
                    click.echo(f"  {who.id}: {who.label_en} / {who.label_ja}")
            else:
                click.echo(HELP)
        except Exception as error:  # a demo command failing must not end the demo
            click.echo(f"error: {error}", err=True)
    if not sys.stdin.isatty():
        return  # no terminal (a service or CI): keep running until a signal
    stop.set()


if __name__ == "__main__":
    main()
