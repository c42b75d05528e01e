"""Each compose file validates against the Compose specification and every reference in it is
real: services it waits for, build contexts, Dockerfiles, mounts, and the variables it sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_checks import compose
from tests.deploy.deploy_checks.repo import REPO_ROOT, compose_files
from tests.deploy.deploy_checks.settings import placeholder_secret

Mutation = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize("path", compose_files(), ids=[p.name for p in compose_files()])
def test_compose_file_is_valid_and_consistent(path: Path) -> None:
    assert compose.compose_problems(path) == []


def test_every_service_image_is_run_by_the_development_compose_file() -> None:
    document = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    built = {service["build"]["dockerfile"] for service in document["services"].values() if "build" in service}
    dockerfiles = {str(path.relative_to(REPO_ROOT)) for path in REPO_ROOT.glob("services/*/Dockerfile")}

    assert dockerfiles <= built


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${UNSET:-fallback}", "fallback"),
        ("${UNSET-fallback}", "fallback"),
        ("a$${LITERAL}b", "a${LITERAL}b"),
        ("${UNSET}", ""),
        # The id is fixed: the value is random per process, and xdist workers must collect alike.
        pytest.param("${UNSET:?set it}", placeholder_secret(), id="required-unset-gets-a-placeholder"),
        ("${UNSET:+alternative}", ""),
    ],
)
def test_interpolation_follows_compose(text: str, expected: str) -> None:
    assert compose.interpolate(text) == expected


def test_interpolation_prefers_the_given_environment() -> None:
    assert compose.interpolate("${SET:-fallback}/${SET:+alt}", {"SET": "value"}) == "value/alt"


# The same checks on deliberately broken copies of docker-compose.yml: each must fail.


def _broken_copy(tmp_path: Path, mutate: Mutation, source: str = "docker-compose.yml") -> Path:
    """A copy of a committed compose file with its build contexts made absolute, then mutated."""
    document = yaml.safe_load((REPO_ROOT / source).read_text(encoding="utf-8"))
    for service in document["services"].values():
        if "build" in service:
            service["build"] = {**service["build"], "context": str(REPO_ROOT / service["build"]["context"])}
    mutate(document)
    path = tmp_path / source
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _set(service: str, key: str, value: object) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["services"][service][key] = value

    return mutate


def _set_variable(service: str, name: str, value: str | None) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        environment = dict(document["services"][service]["environment"])
        if value is None:
            del environment[name]
        else:
            environment[name] = value
        document["services"][service]["environment"] = environment

    return mutate


def _drop_healthcheck(service: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        del document["services"][service]["healthcheck"]

    return mutate


def test_schema_violation_is_found(tmp_path: Path) -> None:
    broken = _broken_copy(tmp_path, _set("users", "healthchek", {"test": ["CMD", "true"]}))

    problems = compose.compose_problems(broken)

    assert len(problems) == 1
    assert "not valid against compose-spec" in problems[0]
    assert "healthchek" in problems[0]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("users", "depends_on", {"postgresql": {"condition": "service_healthy"}}), "users: depends_on postgresql"),
        (_set("users", "depends_on", ["postgres"]), "users: depends_on without a condition"),
        (_drop_healthcheck("redis"), "users: waits for redis to be healthy, but redis has no healthcheck"),
        (_set("users", "build", {"context": "/nonexistent"}), "users: build context /nonexistent does not exist"),
        (
            _set("users", "build", {"context": str(REPO_ROOT), "dockerfile": "services/user/Dockerfile"}),
            "does not exist",
        ),
        (_set("users", "volumes", ["./no-such-folder:/srv/data"]), "users: mounts ./no-such-folder"),
        (_set("users", "volumes", ["undeclared:/srv/data"]), "users: volume undeclared is not declared"),
        (_set("users", "env_file", ["missing.env"]), "users: env_file missing.env does not exist"),
        (_set_variable("users", "SECRET_KY", "typo"), "users: sets SECRET_KY, which is not a setting of users"),
        (_set_variable("users", "DATABASE_URL", None), "users: does not set DATABASE_URL, which users requires"),
        (_set_variable("users-migrate", "SMTP_HOST", None), "users-migrate: does not set SMTP_HOST"),
        (_set_variable("users", "DB_POOL_SIZE", "0"), "users: the users settings refuse the environment"),
        (_set_variable("users", "ENVIRONMENT", "production"), "users: the users settings refuse the environment"),
        (_set_variable("orders", "USERS_SERVICE_URL", None), "orders: does not set USERS_SERVICE_URL"),
        (_drop_healthcheck("orders-worker"), "orders-worker: runs python -m app.worker with the image's HEALTHCHECK"),
        (
            _set("orders-worker", "healthcheck", {"test": ["CMD", "curl", "-f", "http://127.0.0.1:8000/metrics"]}),
            "orders-worker: port 8000 is not opened by any *_PORT setting of orders",
        ),
        (
            _set_variable("orders-worker", "WORKER_METRICS_PORT", None),
            "orders-worker: port 9100 is not opened by any *_PORT setting of orders",
        ),
        (_set("orders-worker", "healthcheck", {"test": ["CMD", "true"]}), "orders-worker: its healthcheck asks no"),
    ],
)
def test_cross_check_finds_a_broken_reference(tmp_path: Path, mutate: Mutation, expected: str) -> None:
    problems = compose.compose_problems(_broken_copy(tmp_path, mutate))

    assert any(expected in problem for problem in problems), problems


def test_a_worker_may_disable_its_healthcheck(tmp_path: Path) -> None:
    broken = _broken_copy(tmp_path, _set("orders-worker", "healthcheck", {"disable": True}))

    assert compose.compose_problems(broken) == []


def test_test_runner_variable_that_nothing_reads_is_found(tmp_path: Path) -> None:
    broken = _broken_copy(
        tmp_path, _set_variable("test-runner", "TEST_DB_URL", "postgresql://x"), "docker-compose.test.yml"
    )

    assert compose.compose_problems(broken) == [
        "docker-compose.test.yml: test-runner: sets TEST_DB_URL, which nothing in the project reads"
    ]
