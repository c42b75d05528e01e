"""pre-commit runs what `make lint` runs: its hooks call the targets `lint` is made of."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.deploy_checks import makefile as make
from tests.deploy.deploy_checks.repo import load_yaml


def leaves(target: str, known: dict[str, list[str]]) -> list[str]:
    """The targets that do the work of `target`: itself if it has a recipe of its own."""
    children = [t for t in known.get(target, []) if t in known and t != "setup"]
    return [leaf for child in children for leaf in leaves(child, known)] if children else [target]


def precommit_problems(config_file: Path, makefile: Path) -> list[str]:
    config = load_yaml(config_file)
    entries = [hook.get("entry", "") for repo in config.get("repos", []) for hook in repo.get("hooks", [])]
    called = make.make_calls(entries)
    problems = make.unknown_target_problems(called, makefile)
    problems += [
        f"pre-commit does not run make {t} (part of make lint)"
        for t in leaves("lint", make.targets(makefile))
        if t not in called
    ]
    return problems
