"""The CI workflow: GitHub's workflow schema, then that it runs what `make test` runs."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from tests.deploy.deploy_checks import makefile as make
from tests.deploy.deploy_checks.repo import load_yaml, schema_problems

#: Besides what `make test` runs, the staged run needs every tier and the gate.
STAGES = ("test-unit", "test-integration", "test-contract", "test-e2e", "coverage-gate")
#: What the stages replace: both services' suites as one run each, and the system e2e tier (test-e2e runs it).
STAGED = ("setup", "test-services", "test-system")


def run_commands(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "run" in step]


def stage_problems(workflow_file: Path, makefile: Path) -> list[str]:
    """Every make target the workflow calls exists; together they are what `make test` runs."""
    workflow = load_yaml(workflow_file)
    called = make.make_calls(run_commands(workflow))
    problems = make.unknown_target_problems(called, makefile)
    expected = [t for t in make.make_test_runs(makefile) if t not in STAGED] + list(STAGES)
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


def untiered_tests(tests_dir: Path, tier_expressions: list[str]) -> list[str]:
    """Tests that no tier's marker expression selects: a staged run (CI) would skip them while
    `make test` runs them, and the two coverage gates would measure different runs. Read from the
    source (collecting the suite takes longer than every other check together): markers of the
    module (``pytestmark``), the class and the function. A marker added by a hook is not seen,
    so such a test is reported rather than passed over."""
    tiers = set()
    for expression in tier_expressions:
        names = [name.strip() for name in expression.split(" or ")]
        if not all(name.isidentifier() for name in names):
            msg = f"only `a or b` tier expressions are understood, not {expression!r}"
            raise ValueError(msg)
        tiers.update(names)
    untiered = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marks = _module_marks(tree)
        for test, marks in _tests(tree):
            if not (module_marks | marks) & tiers:
                untiered.append(f"{path.relative_to(tests_dir.parent)}::{test}")
    return untiered


def _mark_names(node: ast.expr) -> set[str]:
    """Marker names in `pytest.mark.x`, `pytest.mark.x(...)` or a list of them."""
    if isinstance(node, ast.List | ast.Tuple):
        return {name for element in node.elts for name in _mark_names(element)}
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
        return {node.attr}
    return set()


def _module_marks(tree: ast.Module) -> set[str]:
    return {
        name
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets)
        for name in _mark_names(statement.value)
    }


def _tests(tree: ast.Module) -> list[tuple[str, set[str]]]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            found.append((node.name, {n for d in node.decorator_list for n in _mark_names(d)}))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_marks = {n for d in node.decorator_list for n in _mark_names(d)}
            found += [
                (f"{node.name}::{item.name}", class_marks | {n for d in item.decorator_list for n in _mark_names(d)})
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test")
            ]
    return found
