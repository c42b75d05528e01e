"""What a service's settings require, asked of the service itself in a subprocess."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from tests.deploy.deploy_checks.repo import SERVICES_DIR

_PROBE = Path(__file__).with_name("_settings_probe.py")

#: Variables a service image reads besides its settings (none today: servicekit's server takes
#: its options as arguments).
PROCESS_VARIABLES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServiceSettings:
    variables: frozenset[str]
    required: frozenset[str]
    shared_state: frozenset[str]
    #: Settings that must be URLs (a random secret cannot stand in for them).
    urls: frozenset[str]
    defaults: Mapping[str, object]


#: Also a well-formed URL, so it stands for required URL settings as well (``FRONTEND_URL``).
_PLACEHOLDER_SECRET = "https://placeholder.invalid/" + secrets.token_urlsafe(48)


def placeholder_secret() -> str:
    """A value of the shape a secret store provides: long and random (one per run), and a URL."""
    return _PLACEHOLDER_SECRET


#: What stands in for a URL a deployment provides (``.invalid`` never resolves).
PLACEHOLDER_URL = "http://placeholder.invalid:8000"


def placeholder(service: str, variable: str) -> str:
    """A stand-in of the shape a deployment provides: a URL where the setting is one, else a secret."""
    return PLACEHOLDER_URL if variable in describe(service).urls else placeholder_secret()


def placeholders(service: str) -> dict[str, str]:
    """Stand-ins for every variable the service requires."""
    return {variable: placeholder(service, variable) for variable in describe(service).required}


@dataclass(frozen=True)
class ProbeResult:
    settings: ServiceSettings
    #: Per labelled environment: None, or why the settings refuse it.
    validation: dict[str, str | None]
    #: Of the paths asked about, those a GET reaches a route for.
    served: frozenset[str]


def probe(service: str, environments: dict[str, dict[str, str]], paths: tuple[str, ...] = ()) -> ProbeResult:
    """Ask the service, in its own folder and interpreter, about its settings and routes."""
    return _probe(service, json.dumps({"environments": environments, "paths": list(paths)}, sort_keys=True))


_probes: dict[str, subprocess.Popen[str]] = {}


def _probe_process(service: str) -> subprocess.Popen[str]:
    """One probe process per service for the whole run: importing a service costs a second."""
    process = _probes.get(service)
    if process is not None and process.poll() is not None:
        _close(process)
        process = None
    if process is None:
        process = subprocess.Popen(
            [sys.executable, str(_PROBE)],
            cwd=SERVICES_DIR / service,
            env={"PATH": os.environ.get("PATH", "")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        _probes[service] = process
    return process


def _close(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@atexit.register
def _stop_probes() -> None:
    for process in _probes.values():
        _close(process)


@cache
def _probe(service: str, request: str) -> ProbeResult:
    process = _probe_process(service)
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(request + "\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        _close(_probes.pop(service))
        msg = f"the settings probe of {service} stopped (its error output is above)"
        raise RuntimeError(msg)
    answer = json.loads(line)
    described = ServiceSettings(
        variables=frozenset(answer["variables"]),
        required=frozenset(answer["required"]),
        shared_state=frozenset(answer["shared_state"]),
        urls=frozenset(answer["urls"]),
        defaults=MappingProxyType(answer["defaults"]),
    )
    return ProbeResult(described, answer["validation"], frozenset(answer["served"]))


@cache
def describe(service: str) -> ServiceSettings:
    return probe(service, {}).settings


def runtime_problems(service: str, environment: dict[str, str], paths: dict[str, str] | None = None) -> list[str]:
    """The environment must start the service (its settings validate on it), and each labelled
    path (a probe, a HEALTHCHECK) must be a route of it. One subprocess for both."""
    paths = paths or {}
    result = probe(service, {"environment": environment}, tuple(sorted(set(paths.values()))))
    error = result.validation["environment"]
    problems = [f"the {service} settings refuse the environment: {error}"] if error else []
    problems += [
        f"{label}: {path} is not a route of {service}" for label, path in paths.items() if path not in result.served
    ]
    return problems


LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def listening_port_problems(
    service: str, environment: Mapping[str, str], port: int | str, *, probed_from_outside: bool
) -> list[str]:
    """A process of the service other than its image's server (the worker) listens only where its
    settings say: ``port`` must be the value of one of its ``*_PORT`` settings and, when the probe
    comes from outside the container (the kubelet), that setting's ``*_ADDRESS`` must not be the
    loopback."""
    known = describe(service)

    def current(name: str) -> str | None:
        value = environment.get(name, known.defaults.get(name))
        return None if value is None else str(value)

    opening = [name for name in sorted(known.variables) if name.endswith("_PORT") and current(name) == str(port)]
    if not opening:
        return [f"port {port} is not opened by any *_PORT setting of {service}"]
    if not probed_from_outside:
        return []
    addresses = {name: current(name.removesuffix("_PORT") + "_ADDRESS") for name in opening}
    if all(address in LOOPBACK_ADDRESSES for address in addresses.values()):
        return [
            f"{name} {port} listens on {address} only: a probe from outside the container cannot reach it"
            for name, address in addresses.items()
        ]
    return []
