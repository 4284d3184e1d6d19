"""Progress of long byte transfers: building the challenge zip and uploading it.

On a terminal (stderr is one), a tqdm bar with bytes done / total and the rate, shown only once
the work has taken :data:`DELAY` seconds, so that a small challenge prints nothing.  Elsewhere
(a hook under pre-commit, CI, a log) a bar's carriage returns would be noise: one line when the
work ends, for work of at least :data:`LINE_MIN_BYTES`.  With ``--quiet`` (:func:`quieted`),
nothing.  tqdm is imported only when a bar is drawn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from evalai_mirror import ui

DELAY = 0.5  # seconds before a terminal bar appears
LINE_MIN_BYTES = 1 << 20  # smaller work says nothing off a terminal

_quiet = False

Advance = Callable[[int], None]


@contextmanager
def quieted(quiet: bool) -> Iterator[None]:
    """No progress at all while a command runs with ``--quiet`` (restored after it, so a
    command run in-process does not silence what runs next)."""
    global _quiet
    before, _quiet = _quiet, quiet
    try:
        yield
    finally:
        _quiet = before


def size_text(count: float) -> str:
    """``count`` bytes for people: 512 B, 3.4 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _size() -> tuple[int, int]:
    """The terminal's (columns, lines), 80 x 24 where it says 0 (a pseudo-terminal nobody
    sized): tqdm draws nothing on a terminal of 0 lines or columns."""
    columns, lines = ui.terminal_size(sys.stderr)
    return columns or 80, lines or 24


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def meter(what: str, total: int) -> Iterator[Advance]:
    """A function to call with each number of bytes done, for ``total`` bytes of ``what``
    ("building the challenge zip").  The line off a terminal is written only when the block
    ends without an error."""
    if _quiet or total <= 0:
        yield _nothing
        return
    if _on_terminal():
        from tqdm import tqdm

        columns, lines = _size()
        with tqdm(
            total=total,
            desc=what,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            delay=DELAY,
            file=sys.stderr,
            ncols=columns,
            nrows=lines,
            leave=True,
        ) as bar:

            def update(count: int) -> None:
                bar.update(count)

            yield update
        return
    done = 0
    started = time.monotonic()

    def advance(count: int) -> None:
        nonlocal done
        done += count

    yield advance
    if total >= LINE_MIN_BYTES:
        took = max(time.monotonic() - started, 1e-6)
        ui.err(f"{what}: {size_text(done)} of {size_text(total)} in {took:.1f} s "
               f"({size_text(done / took)}/s)")


def _nothing(count: int) -> None:
    del count
