"""The appliance agent (`yoshin-device serve`) as its own process, as on an appliance: it answers the kiosk
over its socket, forwards the outbox in the same process, carries the host's errors across with their class
and words, refuses what the kiosk may not ask, and answers nobody but its own user. Real TLS host, real
SQLite queue, real Unix socket."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from yoshin.device.agent import MAX_LINE, AgentClient
from yoshin.device.errors import AgentUnavailable, HostRefused, HostUnreachable
from yoshin.device.hostclient import HostAddress
from yoshin.domain import examples
from yoshin.domain.i18n import BilingualError
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

SERVE = str(Path(sys.executable).parent / "yoshin-device")


@contextmanager
def agent_process(data_dir: Path, *options: str) -> Iterator[tuple[subprocess.Popen[str], AgentClient]]:
    """`yoshin-device serve` on `data_dir`, once its ready line says the socket accepts; stopped after."""
    path = Path(tempfile.mkdtemp(prefix="yoshin-agent-")) / "agent.sock"
    command = [SERVE, "serve", "--data-dir", str(data_dir), "--socket", str(path), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == f"yoshin agent: {path}\n"
        yield process, AgentClient(path)
    finally:
        process.terminate()
        process.wait(30)


def _inbox(host: HostServer) -> int:
    return int(host.service.db.execute("SELECT count(*) FROM inbox").fetchone()[0])


def test_a_record_submitted_through_the_agent_reaches_the_host_by_its_forwarder(make_device, host) -> None:
    device = make_device()
    with agent_process(device.appliance.data_dir) as (process, agent):
        record_id = agent.submit("questionnaire_response", examples.questionnaire_response(new_record_id()))
        assert agent.queue_status()["depth"] in (0, 1)  # the forwarder may already have sent it
        deadline = time.monotonic() + 60  # the forwarder's idle poll is 5 s
        while _inbox(host) == 0 and time.monotonic() < deadline:
            process.poll()
            assert process.returncode is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)  # the forwarder runs in another process; its delivery ends this wait
        stored = host.service.db.execute("SELECT record_id FROM inbox").fetchall()
        assert [row[0] for row in stored] == [record_id]
        assert agent.queue_status()["depth"] == 0
    assert process.returncode == 0  # SIGTERM: a clean stop


def test_the_host_s_errors_cross_the_socket_with_their_class_and_words(make_device, host) -> None:
    device = make_device()
    with agent_process(device.appliance.data_dir, "--no-forward") as (_, agent):
        with pytest.raises(HostRefused) as refused:
            agent.host_call("POST", api.STAFF_LOGIN, {"staff_id": "N9999", "password": "wrong"})
        assert refused.value.status in (401, 403)
        assert refused.value.message.ja and refused.value.message.en
        online = device.appliance.host_address()
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
            device.appliance.save_host(HostAddress("127.0.0.1", port, port))  # the agent reads host.json anew
            with pytest.raises(HostUnreachable) as offline:
                agent.host_call("POST", api.JPKI_CHALLENGE)
            assert "オフライン" in offline.value.message.ja
        device.appliance.save_host(online)
        assert agent.host_call("POST", api.JPKI_CHALLENGE)["challenge_id"]  # and back online


def test_the_agent_refuses_what_the_kiosk_may_not_ask_and_keeps_serving(make_device, host) -> None:
    device = make_device()
    with agent_process(device.appliance.data_dir, "--no-forward") as (process, agent):
        with pytest.raises(BilingualError) as refused:  # records go only through the agent's own forwarder
            agent.host_call("POST", api.RECORDS, {"envelopes": []})
        assert api.RECORDS in refused.value.message.en
        with pytest.raises(BilingualError, match="unknown call"):
            agent.call("appliance")
        with pytest.raises(BilingualError, match="unknown call"):
            agent.call("__init__")
        with pytest.raises(AgentUnavailable, match="TypeError"):  # wrong arguments: a bug, told, not a crash
            agent.call("submit", nothing=1)
        with pytest.raises(BilingualError) as invalid:  # the contract still checks what the kiosk sends
            agent.submit("questionnaire_response", {"record_id": "not-a-record"})
        assert invalid.value.message.ja
        with socket.socket(socket.AF_UNIX) as raw:  # not JSON, then a line over the limit
            raw.connect(str(agent.path))
            raw.sendall(b"{not json\n")
            assert "error" in json.loads(raw.makefile("rb").readline())
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(str(agent.path))
            raw.sendall(b"x" * (MAX_LINE + 2))
            assert raw.makefile("rb").readline() == b""  # dropped without an answer
        assert agent.device_identity()["device_id"] == device.device_id
        assert process.poll() is None


def _as_nobody(path: Path) -> bytes:
    """What a process of another user (nobody) gets from the socket: b"refused", or the answer line."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: no pytest machinery, only the socket; it always exits
        try:
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as connection:
                try:
                    connection.connect(str(path))
                except PermissionError:
                    os.write(write_end, b"refused")
                else:
                    try:
                        connection.sendall(b'{"call": "device_identity", "args": {}}\n')
                        line = connection.makefile("rb").readline()
                    except (BrokenPipeError, ConnectionResetError):  # closed, unread: no answer either
                        line = b""
                    os.write(write_end, b"answer:" + line)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as result:
        seen = result.read()
    os.waitpid(child, 0)
    return seen


def test_only_the_agent_s_own_user_is_answered(make_device, host) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to connect as another user")
    device = make_device()
    with agent_process(device.appliance.data_dir, "--no-forward") as (_, agent):
        assert stat.S_IMODE(agent.path.stat().st_mode) == 0o600
        agent.path.parent.chmod(0o711)
        assert _as_nobody(agent.path) == b"refused"  # the socket's mode
        agent.path.chmod(0o666)
        assert _as_nobody(agent.path) == b"answer:"  # SO_PEERCRED: connected, never answered
        assert agent.device_identity()["device_id"] == device.device_id


def test_a_kiosk_without_its_agent_is_told_in_both_languages(tmp_path) -> None:
    with pytest.raises(AgentUnavailable) as gone:
        AgentClient(tmp_path / "agent.sock").place()
    assert "係員" in gone.value.message.ja and "staff" in gone.value.message.en


def test_the_kiosk_s_installation_check_runs_in_the_agent(make_device, host, tmp_path) -> None:
    """`yoshin-kiosk --manifest ... --agent ...` asks the agent to check the installed files: a changed file
    is refused with its name, in both languages, from the agent's process."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from yoshin.device import integrity

    key = Ed25519PrivateKey.generate()
    signed = integrity.build_manifest(key, "installed")
    public = tmp_path / "release.pem"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(signed))
    device = make_device()
    with agent_process(device.appliance.data_dir, "--no-forward") as (_, agent):
        agent.verify_installation(str(manifest), str(public))  # intact: no error
        broken = {**signed, "manifest": {**signed["manifest"], "version": "other"}}  # not what was signed
        manifest.write_text(json.dumps(broken))
        with pytest.raises(BilingualError) as refused:
            agent.verify_installation(str(manifest), str(public))
        assert refused.value.message.ja and refused.value.message.en
