"""The CI workflow validates against GitHub's workflow schema (as check-jsonschema ships it) and
runs exactly the make targets `make test` is made of, on health-checked service containers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_checks import makefile, workflow
from tests.deploy.deploy_checks.repo import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "test.yml"
MAKEFILE = REPO_ROOT / "Makefile"
Mutation = Callable[[dict[str, Any]], None]


TIER_TARGETS = ("test-unit", "test-integration", "test-contract", "test-e2e")


def test_workflow_is_valid_and_runs_the_make_targets() -> None:
    assert workflow.workflow_problems(WORKFLOW, MAKEFILE) == []


SERVICE_TESTS = sorted(REPO_ROOT.glob("services/*/tests"))


@pytest.mark.parametrize("tests_dir", SERVICE_TESTS, ids=[path.parent.name for path in SERVICE_TESTS])
def test_the_tiers_together_run_every_test_of_each_service(tests_dir: Path) -> None:
    expressions = makefile.marker_expressions(MAKEFILE, TIER_TARGETS)

    assert all(makefile.marker_expressions(MAKEFILE, (target,)) for target in TIER_TARGETS)
    assert workflow.untiered_tests(tests_dir, expressions) == []


def test_a_tier_left_out_of_the_staged_run_is_found() -> None:
    expressions = makefile.marker_expressions(MAKEFILE, ("test-unit", "test-integration", "test-e2e"))

    untiered = workflow.untiered_tests(REPO_ROOT / "services" / "users" / "tests", expressions)

    assert untiered
    assert all(test.startswith("tests/contract/") for test in untiered)


def test_a_test_without_a_tier_marker_is_found(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\npytestmark = [pytest.mark.slow]\n\n"
        "@pytest.mark.unit\ndef test_tiered(): ...\n\n"
        "def test_untiered(): ...\n\n"
        "@pytest.mark.e2e\nclass TestFlow:\n    def test_in_class(self): ...\n",
        encoding="utf-8",
    )

    assert workflow.untiered_tests(tmp_path / "tests", ["unit", "integration or e2e"]) == [
        "tests/test_x.py::test_untiered"
    ]


# The same checks on deliberately broken copies: each must fail.


def _broken_copy(tmp_path: Path, mutate: Mutation) -> Path:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    mutate(document)
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _job(document: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = document["jobs"]["test"]
    return job


def _replace_run(old: str, new: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        for step in _job(document)["steps"]:
            if step.get("run") == old:
                step["run"] = new

    return mutate


def _drop_health_check(document: dict[str, Any]) -> None:
    _job(document)["services"]["redis"]["options"] = ""


def _uv_without_cache(document: dict[str, Any]) -> None:
    for step in _job(document)["steps"]:
        if str(step.get("uses", "")).startswith("astral-sh/setup-uv"):
            step["with"]["enable-cache"] = False


def _unset_database(document: dict[str, Any]) -> None:
    del _job(document)["env"]["TEST_DATABASE_URL"]


def test_schema_violation_is_found(tmp_path: Path) -> None:
    def steps_not_a_list(document: dict[str, Any]) -> None:
        _job(document)["steps"] = "make test"

    problems = workflow.workflow_problems(_broken_copy(tmp_path, steps_not_a_list), MAKEFILE)

    assert len(problems) == 1
    assert "not valid against vendor.github-workflows" in problems[0]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_replace_run("make test-unit", "make test-units"), "make test-units is called but the Makefile has no such"),
        (_replace_run("make coverage-gate", "echo skipped"), "the workflow does not run make coverage-gate"),
        (_replace_run("make test-deploy", "echo skipped"), "the workflow does not run make test-deploy"),
        (_replace_run("make lint", "make lint-ruff"), "the workflow does not run make lint"),
        (_drop_health_check, "test: service redis has no health check"),
        (_uv_without_cache, "no astral-sh/setup-uv step with enable-cache: true"),
        (_unset_database, "TEST_DATABASE_URL is not set"),
    ],
)
def test_stage_check_finds_a_broken_workflow(tmp_path: Path, mutate: Mutation, expected: str) -> None:
    problems = workflow.stage_problems(_broken_copy(tmp_path, mutate), MAKEFILE) + workflow.service_problems(
        _broken_copy(tmp_path, mutate)
    )

    assert any(expected in problem for problem in problems), problems
