"""`make help` lists every target with one line; pre-commit runs what `make lint` runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploy_checks import makefile, precommit
from tests.deploy.deploy_checks.repo import REPO_ROOT

MAKEFILE = REPO_ROOT / "Makefile"
PRECOMMIT = REPO_ROOT / ".pre-commit-config.yaml"


def test_every_target_has_a_help_line() -> None:
    assert makefile.help_problems(MAKEFILE) == []


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target_once() -> None:
    make = shutil.which("make")
    assert make is not None
    output = subprocess.run(
        [make, "--no-print-directory", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    listed = [line.split()[1] for line in output.splitlines()]

    assert makefile.listed_by_help(output, MAKEFILE) == []
    assert len(listed) == len(set(listed))


def test_make_test_runs_the_deployment_checks() -> None:
    assert "test-deploy" in makefile.make_test_runs(MAKEFILE)


def test_precommit_runs_what_make_lint_runs() -> None:
    assert precommit.precommit_problems(PRECOMMIT, MAKEFILE) == []


# The same checks on deliberately broken files: each must fail.


def test_target_without_a_help_line_is_found(tmp_path: Path) -> None:
    broken = tmp_path / "Makefile"
    broken.write_text("documented: ## does a thing\n\techo a\n\nundocumented: documented\n\techo b\n", encoding="utf-8")

    assert makefile.help_problems(broken) == ["make undocumented has no `## ` help line"]


def test_help_output_missing_a_target_is_found() -> None:
    assert makefile.listed_by_help("make help    list the targets\n", MAKEFILE)[:1] == ["make help does not list setup"]


def test_precommit_missing_a_lint_step_or_calling_an_unknown_target_is_found(tmp_path: Path) -> None:
    broken = tmp_path / ".pre-commit-config.yaml"
    broken.write_text(
        "repos:\n- repo: local\n  hooks:\n"
        "  - {id: ruff, name: ruff, entry: make lint-ruff, language: system, pass_filenames: false}\n"
        "  - {id: fmt, name: fmt, entry: make lint-fromat, language: system, pass_filenames: false}\n",
        encoding="utf-8",
    )

    assert precommit.precommit_problems(broken, MAKEFILE) == [
        "make lint-fromat is called but the Makefile has no such target",
        "pre-commit does not run make lint-format (part of make lint)",
        "pre-commit does not run make typecheck (part of make lint)",
    ]


def test_a_target_specific_variable_is_not_a_rule(tmp_path: Path) -> None:
    makefile_text = "stage: step ## runs step\n\nstage: NICE := nice -n 10\n\nstep: ## a step\n\t$(NICE) true\n"
    written = tmp_path / "Makefile"
    written.write_text(makefile_text, encoding="utf-8")

    assert makefile.help_problems(written) == []
    assert makefile.targets(written) == {"stage": ["step"], "step": []}
