"""A service image's recipe carried out without a container engine: the builder's `uv sync`
into a fresh environment, the final stage's files copied to a fresh folder, then the image's
commands run there against a real PostgreSQL. What this cannot see (base image, file
ownership) the static checks and hadolint cover; what they cannot see (a runtime import of a
dev-only package, a migration that needs more than the runtime dependencies, a HEALTHCHECK
command that cannot succeed) this does."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.deploy_checks.dockerfile import Stage, copy_sources, final_environment, in_context, parse
from tests.deploy.deploy_checks.repo import REPO_ROOT, load_yaml, one_shot_services

_UV_SYNC = re.compile(r"uv sync(?P<flags>[^&;|]*)")


@dataclass(frozen=True)
class Recipe:
    sync_flags: list[str]
    workdir: str
    files: list[tuple[str, str]]
    environment: dict[str, str]
    command: list[str]
    healthcheck: list[str]


def _exec_form(arguments: str) -> list[str]:
    words: list[str] = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    return words


def read(dockerfile: Path) -> Recipe:
    stages = parse(dockerfile.read_text(encoding="utf-8"))
    runs = " ".join(i.arguments for stage in stages[:-1] for i in stage.of("RUN"))
    sync = _UV_SYNC.search(runs)
    if sync is None:
        msg = f"{dockerfile}: no `uv sync` in a build stage"
        raise ValueError(msg)
    final: Stage = stages[-1]
    workdir = final.of("WORKDIR")[-1].arguments
    files = []
    for instruction in final.of("COPY"):
        origin, sources = copy_sources(instruction)
        destination = _exec_form(instruction.arguments)[-1]
        if origin is None:
            files += [(source, destination) for source in sources]
    healthcheck = final.of("HEALTHCHECK")[-1].arguments.split(" CMD ", 1)[1]
    return Recipe(
        sync_flags=shlex.split(sync.group("flags").replace("\\", " ")),
        workdir=workdir,
        files=files,
        environment=final_environment(dockerfile),
        command=_exec_form(final.of("CMD")[-1].arguments),
        healthcheck=_exec_form(healthcheck),
    )


def uv() -> str:
    pinned = REPO_ROOT / ".tools" / "bin" / "uv"
    found = str(pinned) if pinned.is_file() else shutil.which("uv")
    if found is None:
        msg = "uv is not installed: run `make setup`"
        raise FileNotFoundError(msg)
    return found


def build(recipe: Recipe, root: Path, python: str) -> tuple[Path, Path]:
    """The runtime environment (from the lock; `make setup` filled uv's cache, so this is
    usually a copy from it) and the final stage's working directory."""
    build_dir = root / "build"
    build_dir.mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO_ROOT / name, build_dir / name)
    venv = root / "venv"
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    for name in ("VIRTUAL_ENV", "UV_LINK_MODE", "UV_COMPILE_BYTECODE"):
        environment.pop(name, None)
    subprocess.run(
        [uv(), "sync", *recipe.sync_flags, "--python", python],
        cwd=build_dir,
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
    )
    workdir = root / recipe.workdir.lstrip("/")
    workdir.mkdir(parents=True)
    for source, destination in recipe.files:
        target = workdir / destination
        for origin in sorted(REPO_ROOT.glob(source)):
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=_dockerignored)
            elif destination.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
            else:
                shutil.copy2(origin, target)
    return venv, workdir


def _dockerignored(folder: str, names: list[str]) -> set[str]:
    """What .dockerignore keeps out of the build context, as shutil.copytree's ignore."""
    relative = Path(folder).resolve().relative_to(REPO_ROOT)
    return {name for name in names if not in_context(REPO_ROOT, str(relative / name))}


def on_port(command: list[str], healthcheck: list[str], port: int) -> tuple[list[str], list[str]]:
    """The image's command and HEALTHCHECK on a free loopback port instead of all interfaces."""
    served = list(command)
    image_port = "8000"
    for index, word in enumerate(served[:-1]):
        if word == "--port":
            image_port, served[index + 1] = served[index + 1], str(port)
        elif word == "--host":
            served[index + 1] = "127.0.0.1"
    return served, [word.replace(f":{image_port}/", f":{port}/") for word in healthcheck]


def one_shot_commands(dockerfile: Path, compose_file: Path) -> list[list[str]]:
    """Commands of the compose services built from this Dockerfile that others wait to see
    completed (the migrations)."""
    document = load_yaml(compose_file)
    services = document.get("services") or {}
    awaited = one_shot_services(services)
    relative = str(dockerfile.relative_to(REPO_ROOT))
    return [
        _exec_form(service["command"]) if isinstance(service["command"], str) else list(service["command"])
        for name, service in services.items()
        if name in awaited and (service.get("build") or {}).get("dockerfile") == relative and "command" in service
    ]


def image_command(dockerfile: Path) -> list[str]:
    """The final stage's CMD, in exec form."""
    return _exec_form(parse(dockerfile.read_text(encoding="utf-8"))[-1].of("CMD")[-1].arguments)


#: How many words of the image's CMD name its program (``python -m servicekit.server``); the rest
#: are options an overlay may change.
_PROGRAM_WORDS = 3


def runs_image_server(dockerfile: Path, command: list[str] | None) -> bool:
    """Whether a container or compose service running ``command`` (None: the image's CMD) runs
    the image's own server, so that the image's HEALTHCHECK and the API's routes apply to it."""
    if command is None:
        return True
    program = image_command(dockerfile)[:_PROGRAM_WORDS]
    return command[: len(program)] == program


@dataclass(frozen=True)
class OtherProcess:
    """A long-running compose service that runs another command of a service image (a worker)."""

    name: str
    dockerfile: Path
    command: list[str]
    environment: dict[str, str]
    healthcheck: list[str]


def other_processes(compose_file: Path) -> list[OtherProcess]:
    """The compose file's long-running services that run another command of a service image than
    its server, with a healthcheck of their own (a disabled one is not run)."""
    services = load_yaml(compose_file).get("services") or {}
    one_shots = one_shot_services(services)
    found = []
    for name, service in services.items():
        build = service.get("build")
        if not isinstance(build, dict) or name in one_shots or "command" not in service:
            continue
        dockerfile = (compose_file.parent / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve()
        command = _exec_form(service["command"]) if isinstance(service["command"], str) else list(service["command"])
        healthcheck = service.get("healthcheck") or {}
        if runs_image_server(dockerfile, command) or healthcheck.get("disable", False) or "test" not in healthcheck:
            continue
        environment = {str(key): str(value) for key, value in (service.get("environment") or {}).items()}
        found.append(OtherProcess(name, dockerfile, command, environment, _healthcheck_command(healthcheck["test"])))
    return found


def _healthcheck_command(test: str | list[str]) -> list[str]:
    """A compose healthcheck's ``test`` as a command line (``CMD`` as is, ``CMD-SHELL`` through sh)."""
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *words = test
    return ["sh", "-c", " ".join(words)] if kind == "CMD-SHELL" else list(words)
