"""Each Kustomize base validates against the Kubernetes schemas (kubernetes-validate), its
resources point at each other, its pods are hardened, no secret value is committed, and every
container gets the settings its service requires in production."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_checks import k8s
from tests.deploy.deploy_checks.repo import REPO_ROOT, k8s_bases, service_dockerfiles

USERS_BASE = REPO_ROOT / "deploy" / "k8s" / "users"
ORDERS_BASE = REPO_ROOT / "deploy" / "k8s" / "orders"
Mutation = Callable[[Path], None]


@pytest.mark.parametrize("base", k8s_bases(), ids=[base.name for base in k8s_bases()])
def test_kustomize_base_is_valid_hardened_and_configured(base: Path) -> None:
    assert k8s.base_problems(base) == []


@pytest.mark.parametrize("dockerfile", service_dockerfiles(), ids=[p.parent.name for p in service_dockerfiles()])
def test_every_service_image_has_a_kustomize_base(dockerfile: Path) -> None:
    assert (REPO_ROOT / "deploy" / "k8s" / dockerfile.parent.name / "kustomization.yaml").is_file()


# The same checks on deliberately broken copies of the users base: each must fail.


def _edit(file_name: str, change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(base: Path) -> None:
        path = base / file_name
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document), encoding="utf-8")

    return mutate


def _container(document: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = document["spec"]["template"]["spec"]["containers"][0]
    return container


def _drop_variable(name: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        container = _container(document)
        container["env"] = [variable for variable in container["env"] if variable["name"] != name]

    return change


def _config(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["data"][key] = value

    return change


def _write(file_name: str, text: str) -> Mutation:
    def mutate(base: Path) -> None:
        (base / file_name).write_text(text, encoding="utf-8")

    return mutate


def _commit_a_secret(base: Path) -> None:
    (base / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: users-secrets}\nstringData: {SECRET_KEY: oops}\n",
        encoding="utf-8",
    )
    _edit("kustomization.yaml", lambda document: document["resources"].append("secret.yaml"))(base)


def _set(path: tuple[str, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[path[-1]] = value

    return change


_POD = ("spec", "template", "spec")
_CONTAINER = (*_POD, "containers", "0")

BROKEN_BASES: list[tuple[Mutation, str]] = [
    (
        _edit("deployment.yaml", _set((*_CONTAINER, "ports"), [{"name": "http", "containerPort": "eight"}])),
        "Deployment/users:",
    ),
    (_edit("deployment.yaml", _set(("spec", "strategy", "rollingUpdate", "maxUnavailabel"), 1)), "Deployment/users:"),
    (_write("extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), "extra.yaml is not listed"),
    (
        _edit("kustomization.yaml", lambda d: d["resources"].append("missing.yaml")),
        "lists missing.yaml, which does not",
    ),
    (
        _edit("service.yaml", _set(("spec", "selector", "app.kubernetes.io/name"), "user")),
        "Service/users: its selector",
    ),
    (
        _edit("pdb.yaml", _set(("spec", "selector", "matchLabels", "app.kubernetes.io/name"), "x")),
        "PodDisruptionBudget",
    ),
    (_edit("hpa.yaml", _set(("spec", "scaleTargetRef", "name"), "user")), "scales Deployment/user, not in the base"),
    (_edit("deployment.yaml", _set((*_CONTAINER, "image"), "other/users")), "is not set by the kustomization"),
    (
        _edit("deployment.yaml", _set((*_POD, "securityContext", "runAsNonRoot"), value=False)),
        "runAsNonRoot is not True",
    ),
    (
        _edit("deployment.yaml", _set((*_CONTAINER, "securityContext", "readOnlyRootFilesystem"), value=False)),
        "readOnly",
    ),
    (_edit("migration-job.yaml", _set((*_CONTAINER, "resources"), {})), "resources.requests lacks cpu or memory"),
    (
        _edit("deployment.yaml", _set((*_CONTAINER, "readinessProbe"), None)),
        "Deployment/users/users: no readinessProbe",
    ),
    (_edit("deployment.yaml", _set((*_CONTAINER, "livenessProbe", "httpGet", "port"), "web")), "uses port web"),
    (
        _edit("deployment.yaml", _set((*_CONTAINER, "livenessProbe", "httpGet", "path"), "/healthz")),
        "/healthz is not a",
    ),
    (_commit_a_secret, "Secret/users-secrets: a Secret is committed"),
    (_write("secrets.env.example", "SECRET_KEY=s3cr3t\nDATABASE_URL=\nREDIS_URL=\n"), "SECRET_KEY has a value"),
    (_write("secrets.env.example", "SECRET_KEY=\nREDIS_URL=\n"), "secret key DATABASE_URL is not documented"),
    (_edit("deployment.yaml", _drop_variable("SECRET_KEY")), "SECRET_KEY is required by users and not provided"),
    (_edit("migration-job.yaml", _drop_variable("DATABASE_URL")), "Job/users-migrate/migrate: DATABASE_URL is"),
    (_edit("deployment.yaml", _drop_variable("REDIS_URL")), "REDIS_URL is required by users and not provided"),
    (_edit("configmap.yaml", lambda d: d["data"].pop("SMTP_HOST")), "SMTP_HOST is required by users and not provided"),
    (_edit("configmap.yaml", _config("DB_POOL_SIZ", "10")), "DB_POOL_SIZ is not a setting of users"),
    (_edit("configmap.yaml", _config("DB_POOL_SIZE", "0")), "the users settings refuse the environment"),
    (_edit("configmap.yaml", _config("ENVIRONMENT", "development")), "ENVIRONMENT is not production"),
    (_edit("configmap.yaml", _config("SHUTDOWN_GRACE_SECONDS", "60")), "does not outlast preStop 5s + SHUTDOWN"),
    (_edit("deployment.yaml", _set((*_POD, "terminationGracePeriodSeconds"), 20)), "terminationGracePeriodSeconds 20"),
    (_edit("configmap.yaml", _set(("metadata", "name"), "users-configuration")), "ConfigMap users-config is not in"),
]


_WORKER = "worker-deployment.yaml"

# The worker runs the image with another command: its probes must ask the port its settings open.
BROKEN_WORKERS: list[tuple[Mutation, str]] = [
    (
        _edit(_WORKER, _set((*_CONTAINER, "livenessProbe", "httpGet", "port"), 8000)),
        "livenessProbe: port 8000 is not opened by any *_PORT setting of orders",
    ),
    (
        _edit(_WORKER, _drop_variable("WORKER_METRICS_PORT")),
        "startupProbe: port 9100 is not opened by any *_PORT setting of orders",
    ),
    (
        _edit(_WORKER, _drop_variable("WORKER_METRICS_ADDRESS")),
        "WORKER_METRICS_PORT 9100 listens on 127.0.0.1 only",
    ),
    (_edit(_WORKER, _set((*_CONTAINER, "readinessProbe"), None)), "Deployment/orders-worker/worker: no readinessProbe"),
    (_edit("configmap.yaml", lambda d: d["data"].pop("USERS_SERVICE_URL")), "USERS_SERVICE_URL is required by orders"),
]


BROKEN = [(USERS_BASE, *broken) for broken in BROKEN_BASES] + [(ORDERS_BASE, *broken) for broken in BROKEN_WORKERS]


@pytest.mark.parametrize(("source", "mutate", "expected"), BROKEN, ids=[expected for _, _, expected in BROKEN])
def test_base_check_finds_a_broken_manifest(tmp_path: Path, source: Path, mutate: Mutation, expected: str) -> None:
    base = tmp_path / source.name
    shutil.copytree(source, base, ignore=shutil.ignore_patterns("secrets.env"))
    mutate(base)

    problems = k8s.base_problems(base)

    assert any(expected in problem for problem in problems), problems


def test_replicas_beyond_one_need_the_shared_store_but_one_replica_does_not(tmp_path: Path) -> None:
    base = tmp_path / "users"
    shutil.copytree(USERS_BASE, base, ignore=shutil.ignore_patterns("secrets.env"))
    _edit("deployment.yaml", _drop_variable("REDIS_URL"))(base)
    _edit("hpa.yaml", _set(("spec", "minReplicas"), 1))(base)
    _edit("hpa.yaml", _set(("spec", "maxReplicas"), 1))(base)

    assert k8s.base_problems(base) == []
