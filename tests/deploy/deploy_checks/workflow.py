"""The CI workflow: GitHub's workflow schema, then that it runs what `make test` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy_checks import makefile as make
from deploy_checks.repo import load_yaml, schema_problems

#: Besides the prerequisites of `make test`, the staged run needs every tier and the gate.
STAGES = ("test-unit", "test-integration", "test-contract", "test-e2e", "coverage-gate")


def run_commands(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "run" in step]


def stage_problems(workflow_file: Path, makefile: Path) -> list[str]:
    """Every make target the workflow calls exists; together they are what `make test` runs."""
    workflow = load_yaml(workflow_file)
    called = make.make_calls(run_commands(workflow))
    problems = make.unknown_target_problems(called, makefile)
    expected = [t for t in make.targets(makefile).get("test", []) if t != "setup"] + list(STAGES)
    problems += [f"the workflow does not run make {target}" for target in expected if target not in called]
    return problems


def service_problems(workflow_file: Path) -> list[str]:
    """Service containers are health-checked; uv's cache is on; the suite is pointed at them."""
    workflow = load_yaml(workflow_file)
    problems = []
    for job_name, job in workflow["jobs"].items():
        for name, service in (job.get("services") or {}).items():
            if "--health-cmd" not in str(service.get("options", "")):
                problems.append(f"{job_name}: service {name} has no health check")
        uv_steps = [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith("astral-sh/setup-uv@")]
        if not uv_steps or not all(s.get("with", {}).get("enable-cache") is True for s in uv_steps):
            problems.append(f"{job_name}: no astral-sh/setup-uv step with enable-cache: true")
        if job.get("services"):
            environment = job.get("env") or {}
            problems += [
                f"{job_name}: {v} is not set, so the suite ignores the service containers"
                for v in ("TEST_DATABASE_URL", "TEST_REDIS_URL")
                if v not in environment
            ]
    return problems


def workflow_problems(workflow_file: Path, makefile: Path) -> list[str]:
    return schema_problems(workflow_file, "vendor.github-workflows") or [
        *stage_problems(workflow_file, makefile),
        *service_problems(workflow_file),
    ]
