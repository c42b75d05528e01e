"""The Makefile as the one source of truth: its targets, their help lines, who calls them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path

_RULE = re.compile(r"^(?P<targets>[A-Za-z0-9_.%/$()-]+(?: [A-Za-z0-9_.%/$()-]+)*)\s*:(?![=:])(?P<rest>.*)$")
_HELP = re.compile(r"##\s+\S")
#: `target: VARIABLE := value` sets a variable for a target (and what it runs); it is not a rule.
_TARGET_VARIABLE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*[:+?!]?=")


def _rules(makefile: Path) -> Iterator[re.Match[str]]:
    """The rule lines of a Makefile: not recipe lines, special targets or target-specific variables."""
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = _RULE.match(line)
        if match is not None and not line.startswith(("\t", ".")) and not _TARGET_VARIABLE.match(match.group("rest")):
            yield match


def targets(makefile: Path) -> dict[str, list[str]]:
    """Every named target (no file or pattern rules) and its prerequisites."""
    found: dict[str, list[str]] = {}
    for match in _rules(makefile):
        prerequisites = match.group("rest").split("##", 1)[0].replace("|", " ").split()
        for target in match.group("targets").split():
            if not any(character in target for character in "$/%."):
                found[target] = prerequisites
    return found


#: `make test` runs its stages in a sub-make (side by side): what it runs is the prerequisites of both.
TEST_TARGETS = ("test", "test-stages")


def make_test_runs(makefile: Path) -> list[str]:
    """The targets `make test` runs directly: its own prerequisites and its stages'."""
    found = targets(makefile)
    return [target for name in TEST_TARGETS for target in found.get(name, [])]


def help_problems(makefile: Path) -> list[str]:
    """Every target has exactly one `## ` help line on its rule."""
    problems = []
    for match in _rules(makefile):
        named = [t for t in match.group("targets").split() if not any(c in t for c in "$/%.")]
        if named and not _HELP.search(match.group("rest")):
            problems += [f"make {target} has no `## ` help line" for target in named]
    return problems


def listed_by_help(help_output: str, makefile: Path) -> list[str]:
    """Targets missing from `make help`'s output (one line each, starting `make <target>`)."""
    listed = {line.split()[1] for line in help_output.splitlines() if line.startswith("make ")}
    return [f"make help does not list {target}" for target in targets(makefile) if target not in listed]


def make_calls(commands: Iterable[str]) -> list[str]:
    """The targets that shell commands (workflow steps, hook entries) ask make for."""
    called = []
    for command in commands:
        for line in command.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["make"]:
                called += [word for word in words[1:] if not word.startswith("-") and "=" not in word]
    return called


def unknown_target_problems(called: Iterable[str], makefile: Path) -> list[str]:
    known = targets(makefile)
    return [f"make {target} is called but the Makefile has no such target" for target in called if target not in known]


def recipe(makefile: Path, target: str) -> list[str]:
    """The command lines of a target's recipe (tab-indented lines after its rule)."""
    lines = makefile.read_text(encoding="utf-8").splitlines()
    commands: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("\t") and inside:
            commands.append(line.strip())
            continue
        match = _RULE.match(line)
        inside = match is not None and target in match.group("targets").split()
    return commands


_MARKER_OPTION = re.compile(r"""-m\s+(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^\s)]+))""")


def marker_expressions(makefile: Path, targets_: Iterable[str]) -> list[str]:
    """The ``-m`` expressions the given targets pass to pytest (inside `$(call ...)` too)."""
    return [
        match.group("double") or match.group("single") or match.group("bare")
        for target in targets_
        for command in recipe(makefile, target)
        for match in _MARKER_OPTION.finditer(command)
    ]
