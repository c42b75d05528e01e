"""Verdicts of a mutmut run (read from ``mutants/``), matched against the accepted survivors.

A mutant's name (``app.utils.jwt.x_create_access_token__mutmut_12``) is renumbered whenever its
function changes, so an accepted survivor is identified by what the mutation does instead: the
function, and its lines before and after the mutation (from mutmut's diff).
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

#: A test failed, hung or crashed on the mutant. "caught by type check" (mypy rejects it) is kept apart.
KILLED = frozenset({"killed", "timeout", "segfault"})
REJECTED_BY_TYPES = "caught by type check"
SURVIVED = frozenset({"survived", "no tests"})
#: mutmut's exit code when its runner raised instead of running the tests (pytest refused the
#: command, e.g. a test id it cannot select). mutmut files it under "timeout", but no test ran:
#: it is no verdict, never a kill.
RUNNER_FAILED = 255


@dataclass(frozen=True, slots=True)
class Mutation:
    """What a mutant changes, in terms that stay true while the rest of the code moves."""

    function: str
    before: str
    after: str

    def as_toml(self) -> str:
        return "\n".join(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in self._fields())

    def _fields(self) -> list[tuple[str, str]]:
        return [("function", self.function), ("before", self.before), ("after", self.after)]


@dataclass(frozen=True, slots=True)
class Accepted:
    mutation: Mutation
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class Survivor:
    name: str
    status: str
    mutation: Mutation
    diff: str


@dataclass(slots=True)
class Score:
    by_tests: int = 0
    by_types: int = 0
    survived: int = 0

    @property
    def killed(self) -> int:
        return self.by_tests + self.by_types

    @property
    def mutants(self) -> int:
        return self.killed + self.survived

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.mutants if self.mutants else 100.0

    @property
    def tests_score(self) -> float:
        """Killed by tests, of the mutants mypy accepts."""
        tested = self.by_tests + self.survived
        return 100.0 * self.by_tests / tested if tested else 100.0

    def __add__(self, other: Score) -> Score:
        return Score(self.by_tests + other.by_tests, self.by_types + other.by_types, self.survived + other.survived)


@dataclass(slots=True)
class Verdicts:
    by_folder: dict[str, Score] = field(default_factory=dict)
    total: Score = field(default_factory=Score)
    unaccepted: list[Survivor] = field(default_factory=list)
    accepted: list[tuple[Survivor, Accepted]] = field(default_factory=list)
    stale: list[Accepted] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    invalid_entries: list[Accepted] = field(default_factory=list)


def load_accepted(path: Path) -> list[Accepted]:
    entries = tomllib.loads(path.read_text()).get("survivor", []) if path.exists() else []
    return [
        Accepted(
            Mutation(entry["function"], entry["before"], entry["after"]),
            entry.get("kind", "").strip(),
            entry.get("reason", "").strip(),
        )
        for entry in entries
    ]


def mutation_of(mutant_name: str, path: Path) -> tuple[Mutation, str]:
    """The mutation a mutant makes, and mutmut's diff of it."""
    diff = get_diff_for_mutant(mutant_name, path=path)
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    before = "\n".join(line[1:].strip() for line in changed if line.startswith("-"))
    after = "\n".join(line[1:].strip() for line in changed if line.startswith("+"))
    function, class_name = orig_function_and_class_names_from_key(mutant_name)
    qualified = f"{class_name}.{function}" if class_name else function
    return Mutation(f"{path}:{qualified}", before, after), diff


def load_verdicts(accepted: list[Accepted]) -> Verdicts:
    """Every mutant of the last run, scored per folder; survivors matched against ``accepted``."""
    verdicts = Verdicts(invalid_entries=[entry for entry in accepted if not (entry.kind and entry.reason)])
    accepted_by_mutation = {entry.mutation: entry for entry in accepted}
    surviving: set[Mutation] = set()
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        folder = verdicts.by_folder.setdefault(str(path.parent), Score())
        for name, exit_code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[exit_code]
            if exit_code == RUNNER_FAILED:
                verdicts.undecided.append(f"{name}: its tests did not run (pytest refused mutmut's command)")
            elif status in KILLED:
                folder.by_tests += 1
            elif status == REJECTED_BY_TYPES:
                folder.by_types += 1
            elif status in SURVIVED:
                folder.survived += 1
                survivor = Survivor(name, status, *mutation_of(name, path))
                surviving.add(survivor.mutation)
                entry = accepted_by_mutation.get(survivor.mutation)
                if entry is None:
                    verdicts.unaccepted.append(survivor)
                else:
                    verdicts.accepted.append((survivor, entry))
            else:
                verdicts.undecided.append(f"{name}: {status}")
    verdicts.total = sum(verdicts.by_folder.values(), Score())
    verdicts.stale = [entry for entry in accepted if entry.mutation not in surviving]
    return verdicts


def _score_line(name: str, score: Score) -> str:
    return (
        f"  {name:<20} {score.score:5.1f}%  {score.killed:4d} / {score.mutants:4d}"
        f"   {score.by_types:4d} {score.by_tests:4d}  {score.tests_score:5.1f}%"
    )


def summary_lines(verdicts: Verdicts, *, run_time: str) -> list[str]:
    lines = [
        f"Mutation score, {run_time}:",
        f"  {'':<20} {'killed / mutants':>23}   {'mypy':>4} {'tests':>4}  (tests, of what mypy accepts)",
    ]
    for folder, score in sorted(verdicts.by_folder.items()):
        if score.mutants:
            lines.append(_score_line(folder + "/", score))
    lines.append(_score_line("total", verdicts.total))
    kinds = Counter(entry.kind for _, entry in verdicts.accepted)
    lines.append(f"Survivors: {len(verdicts.accepted)} accepted {dict(sorted(kinds.items()))}")
    lines.append(f"           {len(verdicts.unaccepted)} not accepted (listed first in the report)")
    if verdicts.stale:
        lines.append(f"{len(verdicts.stale)} accepted survivor(s) no longer survive: remove them from accepted.toml")
    return lines


def render_report(verdicts: Verdicts, *, run_time: str) -> str:
    parts = ["# Mutation testing report", "", "```", *summary_lines(verdicts, run_time=run_time), "```", ""]
    parts += ["## Survivors not accepted", ""]
    parts += ["Kill each with a test, or paste its entry into `mutation/accepted.toml` with a kind and reason.", ""]
    for survivor in verdicts.unaccepted:
        parts += [f"### {survivor.name} ({survivor.status})", "", "```diff", survivor.diff, "```", ""]
        parts += ["```toml", "[[survivor]]", survivor.mutation.as_toml(), 'kind = ""', 'reason = ""', "```", ""]
    parts += ["## Accepted survivors", ""]
    for survivor, entry in sorted(verdicts.accepted, key=lambda pair: (pair[1].kind, pair[0].name)):
        parts.append(f"- **{entry.kind}** `{survivor.name}`: {entry.reason}")
    if verdicts.stale:
        parts += ["", "## Accepted but no longer surviving (remove from accepted.toml)", ""]
        for entry in verdicts.stale:
            parts.append(f"- `{entry.mutation.function}`: `{entry.mutation.before}` → `{entry.mutation.after}`")
    if verdicts.undecided:
        parts += ["", "## Without a verdict", "", *[f"- {line}" for line in verdicts.undecided]]
    return "\n".join(parts) + "\n"
