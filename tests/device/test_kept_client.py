"""The kiosk keeps one host client for its session (issue 14): `Appliance.client()` is made once and its
TLS connections are reused call after call, from the kiosk's worker threads too, replaced after the host
could not be reached, made again when host.json changes, and closed at exit. Real TLS on loopback; a
socat relay stands for the network between the appliance and the host."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from yoshin.device.hostclient import KEEP_IDLE, HostAddress, HostUnreachable
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.tui.services import ApplianceServices


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def relay(listen: int, target: int) -> Iterator[None]:
    """TCP from 127.0.0.1:`listen` to the host; leaving the block cuts it and every connection through it."""
    process = subprocess.Popen(
        ["socat", "-d", "-d", f"TCP-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork", f"TCP:127.0.0.1:{target}"],
        start_new_session=True, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        # socat's own notice says when it listens (a bounded count of connect tries did not: under load they
        # could all be refused before socat had bound, and the test went on with no relay)
        log = []
        for line in process.stderr:
            if "listening on" in line:
                break
            log.append(line)
        else:
            raise AssertionError(f"socat did not listen on {listen}: {log}")
        threading.Thread(target=process.stderr.read, daemon=True).start()  # its later lines, so the pipe never fills
        yield
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # socat and its per-connection children
        process.wait(timeout=30)


def test_the_kiosk_s_calls_reuse_one_client_and_its_connection(make_device) -> None:
    device = make_device()
    services = ApplianceServices(device.appliance, "unused")
    client = device.appliance.client()
    assert device.appliance.client() is client
    services.reception_required()  # GET /policy, as the first screen asks
    kept = client._idle[client.address]  # the pool is what is tested
    assert len(kept) == 1
    first = kept[0]
    services.reception_required()
    assert device.appliance.client() is client and kept == [first] and first.sock is not None  # no new handshake
    device.appliance.close()  # at the app's exit
    assert first.sock is None and client._idle == {}
    assert device.appliance.client() is not client  # a later call makes a new one


def test_the_kept_client_serves_several_threads_without_sharing_a_connection(make_device) -> None:
    device = make_device()
    start = threading.Barrier(8)
    answers: list[str] = []
    lock = threading.Lock()

    def calls() -> None:
        start.wait(timeout=60)
        for _ in range(5):
            answer = device.appliance.client().call("GET", api.HEALTH)
            with lock:
                answers.append(answer["status"])

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == ["ok"] * 40  # a connection used by two threads at once fails (http.client's state)
    client = device.appliance.client()
    kept = client._idle[client.address]
    assert 1 <= len(kept) <= KEEP_IDLE and len({id(connection) for connection in kept}) == len(kept)


def test_after_the_host_could_not_be_reached_the_client_starts_afresh(make_device, host: HostServer) -> None:
    device = make_device()
    port = _free_port()
    device.appliance.save_host(HostAddress("127.0.0.1", port, host.enroll_port))
    with relay(port, host.port):
        client = device.appliance.client()
        assert client.address.port == port  # host.json changed: a client for the new address
        client.call("GET", api.HEALTH)
        kept = client._idle[client.address]
        second = http.client.HTTPSConnection("127.0.0.1", port, context=client.context(), timeout=30)
        second.connect()
        kept.append(second)  # two kept connections, as after two kiosk threads' calls
        assert len(kept) == 2
    try:
        client.call("GET", api.HEALTH)
    except HostUnreachable:
        pass
    else:
        raise AssertionError("the relay is cut: the host cannot be reached")
    assert client._idle.get(client.address, []) == [] and second.sock is None  # nothing stale is kept
    with relay(port, host.port):  # the network is back
        assert device.appliance.client() is client and client.call("GET", api.HEALTH)["status"] == "ok"
        assert len(client._idle[client.address]) == 1
