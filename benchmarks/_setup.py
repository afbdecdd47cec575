"""Shared set-up for benchmarks: a real host on loopback and an enrolled appliance in a temp dir."""

from __future__ import annotations

from pathlib import Path

from _host import technician_proof

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
from yoshin.host import devices
from yoshin.host.server import HostServer, HostService


def host_and_appliance(workdir: Path, serial: str = "BENCH1") -> tuple[HostServer, Appliance]:
    server = HostServer(HostService.open(workdir / "host")).start()
    service = server.service
    token = devices.issue_token(service.db, "141305", "1410000001", "bench", service.clock())
    address = HostAddress("127.0.0.1", server.port, server.enroll_port)
    appliance = Appliance(workdir / f"device-{serial}")
    enroll(
        address,
        fetch_ca(address, service.pki.ca_fingerprint),
        appliance.keystore,
        token,
        "141305",
        "1410000001",
        serial,
        technician_proof(service),
    )
    appliance.save_host(address)
    return server, appliance
