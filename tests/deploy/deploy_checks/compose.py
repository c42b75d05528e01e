"""Compose file checks: the Compose specification's schema, then what the schema cannot see."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.deploy.deploy_checks import dockerfile as dockerfiles
from tests.deploy.deploy_checks import recipe, settings
from tests.deploy.deploy_checks.repo import (
    REPO_ROOT,
    load_yaml,
    one_shot_services,
    service_of_dockerfile,
    service_of_image,
    vendored_schema_problems,
)

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}|\$(?P<bare>[A-Za-z_]\w*)"
)
_PROJECT_SOURCES = ("services/*/tests/**/*.py", "devtools/**/*.py")


def interpolate(value: str, environment: Mapping[str, str] | None = None) -> str:
    """Compose's ``${VAR:-default}`` interpolation, with the shell environment given (empty by
    default: what a fresh clone gets). ``${VAR:?error}`` stands for a value the operator must
    provide, so a random one of a secret's shape takes its place."""
    environment = environment or {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        value = environment.get(name)
        op, arg = match.group("op") or "", match.group("arg") or ""
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return arg if unset else str(value)
        if op.endswith("?"):
            return settings.placeholder_secret() if unset else str(value)
        if op.endswith("+"):
            return "" if unset else arg
        return value or ""

    return _VARIABLE.sub(replace, value)


def _environment(service: Mapping[str, Any], base: Path) -> tuple[dict[str, str], list[str]]:
    """A service's environment (env_file entries, then environment), interpolated."""
    problems: list[str] = []
    merged: dict[str, str] = {}
    env_files = service.get("env_file") or []
    for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
        path, required = (entry, True) if isinstance(entry, str) else (entry["path"], entry.get("required", True))
        env_path = base / path
        if not env_path.is_file():
            if required:
                problems.append(f"env_file {path} does not exist")
            continue
        for line in env_path.read_text(encoding="utf-8").splitlines():
            name, separator, value = line.partition("=")
            if separator and not name.strip().startswith("#"):
                merged[name.strip()] = value.strip()
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) if "=" in item else (item, "") for item in declared)
    merged.update({str(name): "" if value is None else str(value) for name, value in declared.items()})
    return {name: interpolate(value) for name, value in merged.items()}, problems


def _build(service: Mapping[str, Any], base: Path) -> tuple[Path, Path] | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    context = (base / build.get("context", ".")).resolve()
    return context, (context / build.get("dockerfile", "Dockerfile")).resolve()


def _python_service(name: str, services: Mapping[str, Any], base: Path) -> str | None:
    """Which service of services/ a compose service runs: from its Dockerfile, or its image."""
    definition = services[name]
    build = _build(definition, base)
    if build is not None:
        return service_of_dockerfile(build[1])
    image = definition.get("image")
    return service_of_image(image) if isinstance(image, str) else None


def _read_by_project(variable: str) -> bool:
    """A variable the test suite or the dev tools read (TEST_DATABASE_URL and the like)."""
    quoted = (f'"{variable}"', f"'{variable}'")
    sources = (path.read_text(encoding="utf-8") for pattern in _PROJECT_SOURCES for path in REPO_ROOT.glob(pattern))
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    return any(q in text for text in sources for q in quoted) or re.search(rf"\b{variable}\b", makefile) is not None


def cross_check_problems(compose_file: Path) -> list[str]:  # noqa: PLR0912 - one pass over each service's references
    """What the schema cannot see: every reference in the file points at something real."""
    document = load_yaml(compose_file)
    base = compose_file.parent
    services: dict[str, Any] = document.get("services") or {}
    volumes = set((document.get("volumes") or {}).keys())
    one_shots = one_shot_services(services)
    problems: list[str] = []
    for name, service in services.items():
        where = f"{compose_file.name}: {name}"
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            problems.append(f"{where}: depends_on without a condition (start order must be health-gated)")
            depends_on = {target: {} for target in depends_on}
        for target, condition in depends_on.items():
            if target not in services:
                problems.append(f"{where}: depends_on {target}, which is not a service")
            elif condition.get("condition") == "service_healthy" and not _has_healthcheck(services[target], base):
                problems.append(f"{where}: waits for {target} to be healthy, but {target} has no healthcheck")
        build = _build(service, base)
        if build is not None:
            context, dockerfile = build
            if not context.is_dir():
                problems.append(f"{where}: build context {context} does not exist")
            elif not dockerfile.is_file():
                problems.append(f"{where}: Dockerfile {dockerfile} does not exist")
            else:
                problems += [f"{where}: {p}" for p in dockerfiles.copy_problems(dockerfile, context)]
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source")
            if source and source.startswith((".", "/")):
                if not (base / source).exists():
                    problems.append(f"{where}: mounts {source}, which does not exist")
            elif source and ":" in str(mount) and source not in volumes:
                problems.append(f"{where}: volume {source} is not declared under volumes")
        environment, env_problems = _environment(service, base)
        problems += [f"{where}: {p}" for p in env_problems]
        problems += [f"{where}: {p}" for p in _variable_problems(name, services, base, environment)]
        if name not in one_shots:
            problems += [f"{where}: {p}" for p in _own_process_problems(name, services, base, environment)]
    return problems


_HEALTHCHECK_PORT = re.compile(r"https?://[^/\s:'\"]+:(\d+)")


def _own_process_problems(name: str, services: Mapping[str, Any], base: Path, environment: dict[str, str]) -> list[str]:
    """A long-running service that runs another command of its image than the image's server
    (the worker) must not inherit the image's HEALTHCHECK, which asks the server's port where
    nothing listens: its own healthcheck asks a port its settings open, or is disabled."""
    definition = services[name]
    build = _build(definition, base)
    service = _python_service(name, services, base)
    if build is None or service is None or not build[1].is_file() or "command" not in definition:
        return []
    command = definition["command"]
    command = shlex.split(command) if isinstance(command, str) else list(command)
    if recipe.runs_image_server(build[1], command):
        return []
    healthcheck = definition.get("healthcheck")
    if healthcheck is None:
        return [f"runs {' '.join(command)} with the image's HEALTHCHECK, which asks the image's server"]
    if healthcheck.get("disable", False):
        return []
    ports = _HEALTHCHECK_PORT.findall(str(healthcheck.get("test", "")))
    if not ports:
        return ["its healthcheck asks no http://host:port"]
    image_environment = dockerfiles.final_environment(build[1])
    return [
        problem
        for port in ports
        for problem in settings.listening_port_problems(
            service, {**image_environment, **environment}, port, probed_from_outside=False
        )
    ]


def _has_healthcheck(service: Mapping[str, Any], base: Path) -> bool:
    healthcheck = service.get("healthcheck")
    if healthcheck is not None:
        return not healthcheck.get("disable", False)
    build = _build(service, base)
    return build is not None and build[1].is_file() and dockerfiles.healthcheck_path(build[1]) is not None


def _variable_problems(name: str, services: Mapping[str, Any], base: Path, environment: dict[str, str]) -> list[str]:
    service = _python_service(name, services, base)
    if service is None:
        if _build(services[name], base) is None:
            return []  # a third-party image: its variables are its own business
        return [f"sets {v}, which nothing in the project reads" for v in environment if not _read_by_project(v)]
    known = settings.describe(service)
    problems = [
        f"sets {v}, which is not a setting of {service}"
        for v in environment
        if v not in known.variables and v not in settings.PROCESS_VARIABLES
    ]
    problems += [f"does not set {v}, which {service} requires" for v in sorted(known.required - environment.keys())]
    build = _build(services[name], base)
    image_environment = dockerfiles.final_environment(build[1]) if build and build[1].is_file() else {}
    problems += settings.runtime_problems(service, {**image_environment, **environment})
    return problems


def compose_problems(compose_file: Path) -> list[str]:
    """Schema first; cross-checks only on a file the schema accepts."""
    return vendored_schema_problems(compose_file, "compose-spec") or cross_check_problems(compose_file)
