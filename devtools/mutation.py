"""``make mutation``: mutmut over a service, a report of the survivors, and a ratchet on them.

The run starts one PostgreSQL (embedded, or ``TEST_DATABASE_URL``) and migrates one template
database that every mutant's test session clones (``tests/support/mutation_plugin.py``), then
runs ``mutmut run`` in the service's directory (configured by its ``setup.cfg``).

Each surviving mutant must be listed in the service's ``mutation/accepted.toml`` with the reason
it is accepted; a survivor not listed there fails the run, as does a score under the threshold.
The report, survivors first, goes to ``mutation/report.md``.

Without arguments the run starts from scratch (a cached verdict would outlive the test that now
kills it); with mutant names or globs (``'app.utils.jwt.*'``) only those are run again, on the
mutants and test map of the previous run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools import embedded_pg
from devtools.mutation_report import Verdicts, load_accepted, load_verdicts, render_report, summary_lines

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_SERVER_VARIABLE = "MUTATION_TEST_SERVER"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("mutants", nargs="*", help="only these mutants (names or globs), reusing the last run")
    parser.add_argument("--service", default="services/users", help="the service's directory")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--fail-under", type=float, default=90.0, help="minimum percentage of mutants killed")
    return parser.parse_args(argv)


@contextmanager
def _template_database(service_dir: Path) -> Iterator[dict[str, str]]:
    """The environment of a run: a server and a migrated template that every session clones."""
    sys.path.insert(0, str(service_dir))
    from tests.support.databases import drop_database, start_server  # noqa: PLC0415 - the service's own code

    with tempfile.TemporaryDirectory(prefix="mutation-") as work_dir:
        environment = {}
        if not os.environ.get("TEST_DATABASE_URL"):
            server = embedded_pg.start(Path(work_dir) / "pgdata", cleanup="delete", durable=False)
            environment["TEST_DATABASE_URL"] = server.database_url("postgres")
        os.environ.update(environment)
        test_server = start_server(Path(work_dir))
        try:
            yield {**environment, TEST_SERVER_VARIABLE: json.dumps(test_server.as_dict())}
        finally:
            drop_database(test_server, test_server.template)


def _run_mutmut(service_dir: Path, mutants: list[str], max_children: int) -> int:
    if not mutants:
        shutil.rmtree(service_dir / "mutants", ignore_errors=True)
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(max_children), *mutants]
    # mutmut draws a spinner: fine on a terminal, megabytes in a CI log, so logs get a file.
    log_path = service_dir / "mutation" / "mutmut.log"
    with _template_database(service_dir) as run_environment, log_path.open("w") as log:
        output = None if sys.stdout.isatty() else log
        if output is not None:
            print(f"mutmut is running; its output goes to {log_path.relative_to(REPO_ROOT)}", flush=True)  # noqa: T201
        environment = {**os.environ, **run_environment}
        run = subprocess.run(command, cwd=service_dir, env=environment, stdout=output, stderr=output, check=False)  # noqa: S603 - fixed command
        return run.returncode


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
    service_dir = (REPO_ROOT / args.service).resolve()
    started = time.monotonic()
    returncode = _run_mutmut(service_dir, args.mutants, args.max_children)
    if returncode != 0:
        print(f"mutmut failed (exit code {returncode})", file=sys.stderr)  # noqa: T201
        return returncode
    os.chdir(service_dir)  # mutmut's own reading of its results works from there
    accepted = load_accepted(service_dir / "mutation" / "accepted.toml")
    verdicts = load_verdicts(accepted)
    minutes = (time.monotonic() - started) / 60
    report = service_dir / "mutation" / "report.md"
    report.write_text(render_report(verdicts, minutes=minutes))
    for line in summary_lines(verdicts, minutes=minutes):
        print(line)  # noqa: T201
    print(f"Report: {report.relative_to(REPO_ROOT)}")  # noqa: T201
    problems = _problems(verdicts, args.fail_under)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
