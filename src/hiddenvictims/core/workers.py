"""Worker processes that die with their parent.

PyMC samples chains in child processes, and parallel tempering runs its chain groups in a
process pool. If the main process is killed (SIGKILL, an out-of-memory kill) those children
would otherwise sleep on forever, holding memory and the terminal's stdout. On Linux each child
asks the kernel to send it SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and
exits at once if the parent is already gone. Elsewhere the platform default context is used.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.context
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a child process: be killed when ``parent_pid`` dies (Linux), or exit if it has."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died between fork and prctl: then no signal will ever come.
    if os.getppid() != parent_pid:
        os._exit(1)


class _DyingForkProcess(multiprocessing.context.ForkProcess):
    def run(self) -> None:
        die_with_parent(self._parent_pid)  # type: ignore[attr-defined]
        super().run()


class _DyingForkContext(multiprocessing.context.ForkContext):
    Process = _DyingForkProcess  # type: ignore[assignment]


def worker_context() -> multiprocessing.context.BaseContext | None:
    """A fork context whose processes die with their parent (Linux); None elsewhere, which
    leaves the choice to the caller's default."""
    if not sys.platform.startswith("linux"):
        return None
    return _DyingForkContext()
