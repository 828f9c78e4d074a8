"""Progress of the long steps (sampling, compiling, refits, sweeps), shown while they run.

Library code reports through two calls and never decides how progress looks:

* ``with task("sampling", total=3600, parts=4, unit="draws") as t: t.advance(part=c)``: a
  counted step (``parts`` bars of ``total`` each, e.g. one per chain);
* ``with phase("compiling the model"): ...``: a step with no count (a spinner and its time).

The command line chooses the mode once with :func:`configure`: rich bars (elapsed time and an
estimate of what remains) when stdout is a terminal, plain lines every 10% when it is not (CI
logs, pipes), nothing with ``--quiet``. Library use and tests are silent by default, so a fit
inside a notebook or a simulation study prints nothing it was not asked to. rich is imported
only when a bar is shown, so importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

T = TypeVar("T")
Mode = Literal["off", "auto", "bars", "lines"]
_MODE: Mode = "off"
_ACTIVE = 0  # shown steps now running (nested steps stay silent)
# Plain lines: one line per 1/LINE_STEPS of the work, and at least one per LINE_SECONDS.
LINE_STEPS = 10
LINE_SECONDS = 60.0


def configure(mode: Mode) -> None:
    """Set how progress is shown: ``off``, ``auto`` (bars on a terminal, else lines), ``bars``
    or ``lines``."""
    global _MODE
    if mode not in ("off", "auto", "bars", "lines"):
        raise ValueError(f"progress mode must be off, auto, bars or lines, not {mode!r}")
    _MODE = mode


def mode() -> Literal["off", "bars", "lines"]:
    """The effective mode now (``auto`` resolved against stdout). Inside a shown step, steps
    are silent: the outer one speaks for them (a refit inside a precision study, one live
    display at a time)."""
    if _ACTIVE:
        return "off"
    if _MODE == "auto":
        return "bars" if sys.stdout.isatty() else "lines"
    return _MODE


def enabled() -> bool:
    """Whether the user asked to see progress (then the libraries' own bars stay hidden)."""
    return _MODE != "off"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _print_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Task:
    """A counted step. ``advance`` is thread-safe and cheap (called once per draw)."""

    def __init__(
        self, description: str, total: int, parts: int, unit: str, how: str, part_label: str | None = None
    ) -> None:
        self.description, self.total, self.parts, self.unit = description, total, parts, unit
        self.part_label = part_label or description
        self.how = how
        self.done = [0] * parts
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._step = 0
        self._last_line = self.start
        self._bars = None
        self._ids: list = []
        self._labels: list[str] = []

    # -- life cycle
    def __enter__(self) -> Task:
        if self.how == "bars":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
            )
            self._bars.__enter__()
            for p in range(self.parts):
                label = self.description if self.parts == 1 else f"{self.part_label} {p + 1}"
                self._labels.append(label)
                # Until its first unit: compiling, initialising or waiting for a free core.
                self._ids.append(self._bars.add_task(f"{label} (starting)", total=self.total))
        elif self.how == "lines":
            what = f"{self.parts} x {self.total:,}" if self.parts > 1 else f"{self.total:,}"
            _print_line(f"{self.description}: started ({what} {self.unit})")
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.__exit__(*exc)
        elif self.how == "lines" and exc[0] is None:
            _print_line(f"{self.description}: done in {_clock(time.monotonic() - self.start)}")

    # -- reporting
    def advance(self, n: int = 1, part: int = 0) -> None:
        self.update(self.done[part] + n, part)

    def update(self, completed: int, part: int = 0) -> None:
        """Set part ``part`` to ``completed`` units (workers that report absolute counts)."""
        with self._lock:
            if completed == self.done[part]:
                return
            self.done[part] = completed
            if self._bars is not None:
                self._bars.update(self._ids[part], completed=completed, description=self._labels[part])
            elif self.how == "lines":
                self._maybe_line()

    def _maybe_line(self) -> None:
        now = time.monotonic()
        done, total = sum(self.done), self.total * self.parts
        step = done * LINE_STEPS // total  # integer steps: no float drift at 30%
        if done >= total or (step <= self._step and now - self._last_line < LINE_SECONDS):
            return  # the closing line reports the end
        self._step, self._last_line = step, now
        elapsed, share = now - self.start, done / total
        left = _clock(elapsed * (1 - share) / share) if share > 0 else "?"
        _print_line(
            f"{self.description}: {100 * share:3.0f}% ({done:,}/{total:,} {self.unit}), "
            f"elapsed {_clock(elapsed)}, about {left} left"
        )


@contextlib.contextmanager
def task(
    description: str, total: int, parts: int = 1, unit: str = "steps", part_label: str | None = None
) -> Iterator[Task]:
    """A counted step of ``parts`` x ``total`` units; bars are labelled ``part_label`` 1, 2, ...
    Silent (but still counting) when progress is off."""
    how = mode()
    with _shown(how), Task(description, max(int(total), 1), max(int(parts), 1), unit, how, part_label) as t:
        yield t


@contextlib.contextmanager
def phase(description: str) -> Iterator[None]:
    """A step with no count: a spinner with elapsed time (bars), a start and an end line (lines)."""
    how = mode()
    start = time.monotonic()
    with _shown(how):
        if how == "bars":
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(SpinnerColumn(), TextColumn(description), TimeElapsedColumn()) as bar:
                bar.add_task(description, total=None)
                yield
            return
        if how == "lines":
            _print_line(f"{description}: started")
        yield
        if how == "lines":
            _print_line(f"{description}: done in {_clock(time.monotonic() - start)}")


@contextlib.contextmanager
def _shown(how: str) -> Iterator[None]:
    global _ACTIVE
    active = how != "off"
    _ACTIVE += active
    try:
        yield
    finally:
        _ACTIVE -= active


def track(items: Iterable[T], description: str, total: int, unit: str = "steps") -> Iterator[T]:
    """Yield ``items``, counting one unit each time the caller comes back for the next."""
    with task(description, total, unit=unit) as t:
        for item in items:
            yield item
            t.advance()
