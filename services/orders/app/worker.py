"""``python -m app.worker``: the orders worker's entry point (the worker is ``app.queue_worker``).

A SIGTERM or SIGINT that arrives while the process is still importing is an orderly exit (0),
not a death by signal: this module installs that before importing anything heavy. Once running,
``run_worker`` replaces it with a graceful shutdown that lets jobs in hand finish.
"""

from __future__ import annotations

import signal
from types import FrameType


def _exit_while_starting(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def start() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_while_starting)
    from app.queue_worker import main  # noqa: PLC0415 - imported once the signals are handled

    main()


if __name__ == "__main__":
    start()
