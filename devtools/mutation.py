"""``make mutation``: mutmut over a service, a report of the survivors, and a ratchet on them.

One service a run (``--service users``; ``make mutation`` runs each service in turn): the run
starts one PostgreSQL (embedded, or ``TEST_DATABASE_URL``), migrates one template database with
the service's migrations that every mutant's test session clones (``devtools/mutation_plugin.py``),
then runs ``mutmut run`` in ``services/<service>`` (configured by its ``setup.cfg``: what to
mutate, which tests run per mutant).

Each surviving mutant must be listed in the service's ``mutation/accepted.toml`` with the reason
it is accepted; a survivor not listed there fails the run, as does a score under the threshold.
The report, survivors first, goes to the service's ``mutation/report.md``.

Without arguments the run starts from scratch (a cached verdict would outlive the test that now
kills it); with mutant names or globs (``'app.utils.jwt.*'``) only those are run again, on the
mutants and test map of the previous run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools import embedded_pg
from devtools.mutation_plugin import SERVICE_VARIABLE, TEST_SERVER_VARIABLE
from devtools.mutation_report import Verdicts, load_accepted, load_verdicts, render_report, summary_lines
from servicekit.testing.databases import alembic_migrator, drop_database, start_server

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("users", "orders")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("mutants", nargs="*", help="only these mutants (names or globs), reusing the last run")
    parser.add_argument("--service", choices=SERVICES, required=True, help="the service (services/SERVICE)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--fail-under", type=float, default=90.0, help="minimum percentage of mutants killed")
    return parser.parse_args(argv)


@dataclass(slots=True)
class RunCost:
    """Wall time and CPU time of a run, so a run on a busy machine says what it would take on an idle one."""

    wall_seconds: float = 0.0
    mutmut_cpu_seconds: float = 0.0
    database_cpu_seconds: float = 0.0

    def describe(self) -> str:
        cpu = self.mutmut_cpu_seconds + self.database_cpu_seconds
        return (
            f"{self.wall_seconds / 60:.1f} min wall, {cpu / 60:.1f} min CPU "
            f"(mutmut and tests {self.mutmut_cpu_seconds / 60:.1f}, PostgreSQL {self.database_cpu_seconds / 60:.1f})"
        )


def _process_tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children that have exited (Linux ``/proc``), else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _template_database(service: str, service_dir: Path, cost: RunCost) -> Iterator[dict[str, str]]:
    """The environment of a run: a server and a migrated template that every session clones."""
    sys.path.insert(0, str(service_dir))  # the service's migrations import its models (``app``)

    with tempfile.TemporaryDirectory(prefix="mutation-") as work_dir:
        environment = {}
        postmaster: int | None = None
        if not os.environ.get("TEST_DATABASE_URL"):
            server = embedded_pg.start(Path(work_dir) / "pgdata", cleanup="delete", durable=False)
            environment["TEST_DATABASE_URL"] = server.database_url("postgres")
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        os.environ.update(environment)
        test_server = start_server(Path(work_dir), template_prefix=service, migrate=alembic_migrator(service_dir))
        try:
            yield {
                **environment,
                SERVICE_VARIABLE: service,
                TEST_SERVER_VARIABLE: json.dumps(test_server.as_dict()),
            }
        finally:
            drop_database(test_server, test_server.template)
            if postmaster is not None:
                cost.database_cpu_seconds = _process_tree_cpu_seconds(postmaster)


def _run_mutmut(service: str, service_dir: Path, mutants: list[str], max_children: int, cost: RunCost) -> int:
    if not mutants:
        shutil.rmtree(service_dir / "mutants", ignore_errors=True)
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "mutmut"), "run", "--max-children", str(max_children), *mutants]
    # mutmut draws a spinner: fine on a terminal, megabytes in a CI log, so logs get a file.
    log_path = service_dir / "mutation" / "mutmut.log"
    cpu_before = _children_cpu_seconds()
    with _template_database(service, service_dir, cost) as run_environment, log_path.open("w") as log:
        output = None if sys.stdout.isatty() else log
        if output is not None:
            print(f"mutmut is running; its output goes to {log_path.relative_to(REPO_ROOT)}", flush=True)  # noqa: T201
        # mutmut runs its type checker as plain `mypy`: the environment's own.
        path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        environment = {**os.environ, **run_environment, "PATH": path}
        run = subprocess.run(command, cwd=service_dir, env=environment, stdout=output, stderr=output, check=False)  # noqa: S603 - fixed command
    cost.mutmut_cpu_seconds = _children_cpu_seconds() - cpu_before
    return run.returncode


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _problems(verdicts: Verdicts, fail_under: float) -> list[str]:
    problems = []
    if verdicts.unaccepted:
        problems.append(f"{len(verdicts.unaccepted)} surviving mutant(s) neither killed nor accepted")
    if verdicts.undecided:
        problems.append(f"{len(verdicts.undecided)} mutant(s) without a verdict (suspicious, not checked)")
    if verdicts.invalid_entries:
        problems.append(f"{len(verdicts.invalid_entries)} accepted survivor(s) without a kind or reason")
    if verdicts.total.score < fail_under:
        problems.append(f"{verdicts.total.score:.1f}% killed, under the {fail_under:g}% required")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    service_dir = REPO_ROOT / "services" / args.service
    started = time.monotonic()
    cost = RunCost()
    print(f"Mutation testing of the {args.service} service", flush=True)  # noqa: T201
    returncode = _run_mutmut(args.service, service_dir, args.mutants, args.max_children, cost)
    if returncode != 0:
        print(f"mutmut failed (exit code {returncode})", file=sys.stderr)  # noqa: T201
        return returncode
    os.chdir(service_dir)  # mutmut's own reading of its results works from there
    accepted = load_accepted(service_dir / "mutation" / "accepted.toml")
    verdicts = load_verdicts(accepted)
    cost.wall_seconds = time.monotonic() - started
    report = service_dir / "mutation" / "report.md"
    report.write_text(render_report(verdicts, run_time=cost.describe()))
    for line in summary_lines(verdicts, run_time=cost.describe()):
        print(line)  # noqa: T201
    print(f"Report: {report.relative_to(REPO_ROOT)}")  # noqa: T201
    problems = _problems(verdicts, args.fail_under)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
