"""Dockerfile checks: hadolint, the files COPY names, and what a service image must do."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.deploy_checks.repo import REPO_ROOT, run_tool

_HEALTHCHECK_URL = re.compile(r"https?://[^/\s'\"]+(/[^\s'\"]*)")


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class Stage:
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]


def parse(text: str) -> list[Stage]:
    """Split a Dockerfile into stages of instructions, continuation lines joined."""
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, arguments = " ".join(pending).partition(" ")
        pending = []
        instruction = Instruction(keyword.upper(), arguments.strip(), start)
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(alias))
        if stages:
            stages[-1].instructions.append(instruction)
    return stages


def copy_sources(instruction: Instruction) -> tuple[str | None, list[str]]:
    """The ``--from`` stage or image (None for the build context) and the source paths."""
    words = shlex.split(instruction.arguments) if not instruction.arguments.startswith("[") else []
    if instruction.arguments.startswith("["):
        words = json.loads(instruction.arguments)
    origin = None
    paths = []
    for word in words:
        if word.startswith("--from="):
            origin = word.removeprefix("--from=")
        elif not word.startswith("--"):
            paths.append(word)
    return origin, paths[:-1]


def hadolint_problems(dockerfile: Path) -> list[str]:
    result = run_tool("hadolint", "--no-color", "--config", str(REPO_ROOT / ".hadolint.yaml"), str(dockerfile))
    if result.returncode == 0:
        return []
    return [f"hadolint: {line}" for line in (result.stdout + result.stderr).strip().splitlines()]


def _ignore_patterns(context: Path) -> list[str]:
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file():
        return []
    lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
    return [line.removeprefix("/") for line in lines if line and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps the path (or a folder above it) out of the context.
    Negated patterns (``!``) are not supported: the check refuses them rather than guess."""
    parts = Path(relative).parts
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    for pattern in patterns:
        plain = pattern.removeprefix("**/")
        if any(fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(Path(c).name, plain) for c in candidates):
            return True
    return False


def copy_problems(dockerfile: Path, context: Path) -> list[str]:
    """Every path COPY or ADD takes from the build context exists there and is not ignored."""
    patterns = _ignore_patterns(context)
    problems = [f".dockerignore: negated pattern {p!r} is not supported" for p in patterns if p.startswith("!")]
    for stage in parse(dockerfile.read_text(encoding="utf-8")):
        for instruction in stage.of("COPY") + stage.of("ADD"):
            origin, sources = copy_sources(instruction)
            if origin is not None:
                continue
            for source in sources:
                relative = source.removeprefix("./")
                matches = list(context.glob(relative)) if relative not in ("", ".") else [context]
                if not matches:
                    problems.append(f"line {instruction.line}: {source} is not in the build context {context}")
                elif relative not in ("", ".") and _ignored(relative, patterns):
                    problems.append(f"line {instruction.line}: {source} is excluded by .dockerignore")
    return problems


def final_environment(dockerfile: Path) -> dict[str, str]:
    """The ENV values of the final stage (those not built from other variables)."""
    environment: dict[str, str] = {}
    for instruction in parse(dockerfile.read_text(encoding="utf-8"))[-1].of("ENV"):
        for pair in shlex.split(instruction.arguments):
            name, separator, value = pair.partition("=")
            if separator and "$" not in value:
                environment[name] = value
    return environment


def healthcheck_path(dockerfile: Path) -> str | None:
    checks = parse(dockerfile.read_text(encoding="utf-8"))[-1].of("HEALTHCHECK")
    if not checks:
        return None
    found = _HEALTHCHECK_URL.search(checks[-1].arguments)
    return found.group(1) if found else ""


_BUILD_TOOLS = re.compile(r"\b(uv (sync|pip|export)|pip install|apt-get install|apk add|gcc|make)\b")


def service_image_problems(dockerfile: Path, context: Path) -> list[str]:
    """What issue 7 asks of a service image, read from its stages."""
    stages = parse(dockerfile.read_text(encoding="utf-8"))
    runs = " ".join(i.arguments for stage in stages for i in stage.of("RUN"))
    problems: list[str] = []
    if not re.search(r"uv (sync|pip sync)\b[^&;]*--(locked|frozen)", runs) and "uv export" not in runs:
        problems.append("dependencies are not installed from uv.lock (uv sync --locked)")
    final = stages[-1]
    earlier = {stage.name for stage in stages[:-1] if stage.name}
    if not any(copy_sources(i)[0] in earlier for i in final.of("COPY")):
        problems.append("not multi-stage: the final stage copies nothing built by an earlier stage")
    problems += [
        f"line {i.line}: build tools in the final stage" for i in final.of("RUN") if _BUILD_TOOLS.search(i.arguments)
    ]
    users = final.of("USER")
    user = users[-1].arguments.split(":")[0] if users else "root"
    if user in ("root", "0"):
        problems.append(f"the final stage runs as {user}")
    if healthcheck_path(dockerfile) is None:
        problems.append("no HEALTHCHECK in the final stage")
    patterns = _ignore_patterns(context)
    for instruction in final.of("COPY") + final.of("ADD"):
        origin, sources = copy_sources(instruction)
        if origin is None and any(_holds_tests(context, source, patterns) for source in sources):
            problems.append(f"line {instruction.line}: the final stage copies tests")
    commands = " ".join(i.arguments for i in final.of("CMD") + final.of("ENTRYPOINT"))
    if "alembic" in commands:
        problems.append("migrations run on start: they must be an explicit command")
    return problems


def _holds_tests(context: Path, source: str, patterns: list[str]) -> bool:
    """Whether a COPY source brings a tests folder that .dockerignore does not keep out."""
    path = context / source.removeprefix("./")
    folders = [path] if path.name == "tests" else (list(path.glob("**/tests")) if path.is_dir() else [])
    return any(not _ignored(str(folder.relative_to(context)), patterns) for folder in folders)


def in_context(context: Path, relative: str) -> bool:
    """Whether a path of the context reaches the builder (.dockerignore does not exclude it)."""
    return not _ignored(relative, _ignore_patterns(context))


def migration_on_import_problems(service_dir: Path) -> list[str]:
    """The service's code never runs migrations itself: only `alembic upgrade head`, on purpose."""
    return [
        f"{path.relative_to(service_dir)} imports alembic"
        for path in sorted((service_dir / "app").rglob("*.py"))
        if re.search(r"^\s*(import alembic|from alembic\b)", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
