"""Every Dockerfile passes hadolint and copies only what its build context holds; a service
image is multi-stage, locked, non-root, health-checked, and never migrates by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.deploy_checks import dockerfile
from tests.deploy.deploy_checks.repo import REPO_ROOT, all_dockerfiles, service_dockerfiles, service_of_dockerfile
from tests.deploy.deploy_checks.settings import placeholders, runtime_problems

GOOD_SERVICE_IMAGE = (REPO_ROOT / "services" / "users" / "Dockerfile").read_text(encoding="utf-8")


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(REPO_ROOT)) for path in paths]


@pytest.mark.parametrize("path", all_dockerfiles(), ids=_ids(all_dockerfiles()))
def test_dockerfile_passes_hadolint(path: Path) -> None:
    assert dockerfile.hadolint_problems(path) == []


@pytest.mark.parametrize("path", all_dockerfiles(), ids=_ids(all_dockerfiles()))
def test_dockerfile_copies_only_what_the_repository_root_context_holds(path: Path) -> None:
    assert dockerfile.copy_problems(path, REPO_ROOT) == []


@pytest.mark.parametrize("path", service_dockerfiles(), ids=_ids(service_dockerfiles()))
def test_service_image_is_multi_stage_locked_non_root_and_health_checked(path: Path) -> None:
    assert dockerfile.service_image_problems(path, REPO_ROOT) == []


@pytest.mark.parametrize("path", service_dockerfiles(), ids=_ids(service_dockerfiles()))
def test_service_healthcheck_probes_a_route_of_the_service(path: Path) -> None:
    service = service_of_dockerfile(path)
    assert service is not None
    health_path = dockerfile.healthcheck_path(path)
    assert health_path
    # Required settings stood in for, in case the service builds its app only with them.
    environment = placeholders(service)
    assert runtime_problems(service, environment, {"HEALTHCHECK": health_path}) == []


@pytest.mark.parametrize("path", service_dockerfiles(), ids=_ids(service_dockerfiles()))
def test_service_code_never_runs_migrations_itself(path: Path) -> None:
    assert dockerfile.migration_on_import_problems(path.parent) == []


# The same checks on deliberately broken files: each must fail.


def test_hadolint_fails_an_untagged_image_and_unpinned_packages(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python\nRUN pip install fastapi\nCMD uvicorn app.main:app\n", encoding="utf-8")

    problems = "\n".join(dockerfile.hadolint_problems(broken))

    assert "DL3006" in problems  # image without a tag
    assert "DL3013" in problems  # pip install without versions


def test_copy_of_a_missing_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "present.txt").write_text("", encoding="utf-8")
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM scratch\nCOPY present.txt missing.txt /srv/\n", encoding="utf-8")

    assert dockerfile.copy_problems(broken, tmp_path) == [f"line 2: missing.txt is not in the build context {tmp_path}"]


def test_copy_of_a_dockerignored_path_is_found(tmp_path: Path) -> None:
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".dockerignore").write_text(".venv\n", encoding="utf-8")
    broken = tmp_path / "Dockerfile"
    broken.write_text('FROM scratch\nCOPY [".venv", "/opt/venv"]\n', encoding="utf-8")

    assert dockerfile.copy_problems(broken, tmp_path) == ["line 2: .venv is excluded by .dockerignore"]


@pytest.mark.parametrize(
    ("original", "replacement", "expected"),
    [
        ("FROM ${PYTHON_IMAGE} AS runtime", "", "build tools in the final stage"),
        (
            "COPY --from=builder /opt/venv /opt/venv",
            "RUN pip install --no-cache-dir fastapi==0.165.0",
            "not multi-stage",
        ),
        ("--locked", "", "not installed from uv.lock"),
        ("USER 10001:10001", "USER root", "runs as root"),
        ("HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"),
        ("COPY services/users/app ./app", "COPY services/users ./", "copies tests"),
        ('CMD ["python", "-m"', 'CMD ["sh", "-c", "alembic upgrade head && python", "-m"', "migrations run on start"),
    ],
)
def test_service_image_check_fails_a_broken_image(
    tmp_path: Path, original: str, replacement: str, expected: str
) -> None:
    assert original in GOOD_SERVICE_IMAGE
    broken = tmp_path / "Dockerfile"
    broken.write_text(GOOD_SERVICE_IMAGE.replace(original, replacement), encoding="utf-8")

    problems = dockerfile.service_image_problems(broken, REPO_ROOT)

    assert any(expected in problem for problem in problems), problems


def test_healthcheck_on_a_path_the_service_does_not_serve_is_found() -> None:
    assert runtime_problems("users", {}, {"HEALTHCHECK": "/api/v1/healthz"}) == [
        "HEALTHCHECK: /api/v1/healthz is not a route of users"
    ]


def test_service_code_that_migrates_on_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("from alembic import command\n", encoding="utf-8")

    assert dockerfile.migration_on_import_problems(tmp_path) == [str(Path("app/main.py")) + " imports alembic"]
