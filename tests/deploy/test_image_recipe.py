"""Each service image's recipe, carried out without a container engine (see deploy_checks.recipe):
the locked runtime environment alone migrates the database, serves, and passes the image's own
HEALTHCHECK command."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from devtools import embedded_pg
from devtools.net import free_port
from tests.deploy.deploy_checks import compose, recipe
from tests.deploy.deploy_checks.repo import REPO_ROOT, service_dockerfiles, service_of_dockerfile
from tests.deploy.deploy_checks.settings import placeholders

HEALTHY_WITHIN_SECONDS = 60.0


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database: on TEST_DATABASE_URL's server if set, else on an embedded server (in a
    folder of its own under the temporary directory, as the service suites do: the server's
    user must reach it)."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external is None:
        data_dir = Path(tempfile.mkdtemp(prefix="deploy-recipe-pg-")) / "pgdata"
        yield embedded_pg.start(data_dir, cleanup="delete", durable=False).database_url()
        return
    name = f"deploy_recipe_{uuid.uuid4().hex[:10]}"
    asyncio.run(embedded_pg.create_database(external, name))
    try:
        yield embedded_pg.with_database(external, name)
    finally:
        asyncio.run(embedded_pg.drop_database(external, name))


def _run(command: list[str], workdir: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(command[0], path=environment["PATH"])
    assert executable is not None, f"{command[0]} is not in the image's environment"
    return subprocess.run(
        [executable, *command[1:]],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _head_revisions(workdir: Path) -> set[str]:
    """The migration heads of the copied alembic folder (read, not run)."""
    return set(ScriptDirectory.from_config(Config(str(workdir / "alembic.ini"))).get_heads())


def _applied_revisions(database_url: str) -> set[str]:
    async def read() -> set[str]:
        connection = await embedded_pg.connect(database_url)
        try:
            return {row["version_num"] for row in await connection.fetch("SELECT version_num FROM alembic_version")}
        finally:
            await connection.close()

    return asyncio.run(read())


def _wait_until_healthy(
    healthcheck: list[str], server: subprocess.Popen[bytes], workdir: Path, env: dict[str, str]
) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while _run(healthcheck, workdir, env).returncode != 0:
        assert time.monotonic() < deadline, f"HEALTHCHECK still failing after {HEALTHY_WITHIN_SECONDS}s"
        try:  # the poll interval, which also notices a server that died
            returncode = server.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the server exited with {returncode} before its HEALTHCHECK passed")


@pytest.mark.parametrize("dockerfile", service_dockerfiles(), ids=[p.parent.name for p in service_dockerfiles()])
def test_image_recipe_migrates_serves_and_passes_its_healthcheck(
    dockerfile: Path, tmp_path: Path, database_url: str
) -> None:
    image = recipe.read(dockerfile)
    venv, workdir = recipe.build(image, tmp_path / "image", sys.executable)
    service = service_of_dockerfile(dockerfile)
    assert service is not None
    environment = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", **image.environment}
    environment.update(placeholders(service))
    environment.update({"DATABASE_URL": database_url, "SMTP_HOST": "127.0.0.1"})
    one_shots = recipe.one_shot_commands(dockerfile, REPO_ROOT / "docker-compose.yml")
    assert one_shots, "no one-shot (migration) service is built from this image"
    port = free_port()
    command, healthcheck = recipe.on_port(image.command, image.healthcheck, port)

    assert _run(healthcheck, workdir, environment).returncode != 0  # nothing listens yet: it can fail
    for one_shot in one_shots:
        result = _run(one_shot, workdir, environment)
        assert result.returncode == 0, result.stderr
    assert _applied_revisions(database_url) == _head_revisions(workdir)
    executable = shutil.which(command[0], path=environment["PATH"])
    assert executable is not None
    server = subprocess.Popen(
        [executable, *command[1:]], cwd=workdir, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_healthy(healthcheck, server, workdir, environment)
    finally:
        server.terminate()
        server.wait(timeout=30)


WORKERS = recipe.other_processes(REPO_ROOT / "docker-compose.yml")


def _moved_to(port: int, process: recipe.OtherProcess) -> tuple[dict[str, str], list[str]]:
    """The process's compose environment and healthcheck with the port it asks moved to a free
    one, on the loopback (``*_ADDRESS`` settings) instead of all interfaces."""
    environment = {name: compose.interpolate(value) for name, value in process.environment.items()}
    healthcheck = list(process.healthcheck)
    for name, value in process.environment.items():
        if name.endswith("_PORT") and any(f":{value}/" in word for word in healthcheck):
            environment[name] = str(port)
            healthcheck = [word.replace(f":{value}/", f":{port}/") for word in healthcheck]
        elif name.endswith("_ADDRESS"):
            environment[name] = "127.0.0.1"
    return environment, healthcheck


@pytest.mark.parametrize("process", WORKERS, ids=[process.name for process in WORKERS])
def test_a_worker_of_an_image_runs_and_passes_its_own_healthcheck(
    process: recipe.OtherProcess, tmp_path: Path, database_url: str
) -> None:
    image = recipe.read(process.dockerfile)
    venv, workdir = recipe.build(image, tmp_path / "image", sys.executable)
    service = service_of_dockerfile(process.dockerfile)
    assert service is not None
    compose_environment, healthcheck = _moved_to(free_port(), process)
    environment = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", **image.environment, **placeholders(service)}
    environment.update({**compose_environment, "DATABASE_URL": database_url})

    assert _run(healthcheck, workdir, environment).returncode != 0  # nothing listens yet: it can fail
    for one_shot in recipe.one_shot_commands(process.dockerfile, REPO_ROOT / "docker-compose.yml"):
        assert _run(one_shot, workdir, environment).returncode == 0
    executable = shutil.which(process.command[0], path=environment["PATH"])
    assert executable is not None
    worker = subprocess.Popen(
        [executable, *process.command[1:]],
        cwd=workdir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_healthy(healthcheck, worker, workdir, environment)
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0  # SIGTERM is a clean stop
