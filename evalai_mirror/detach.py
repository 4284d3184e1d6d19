"""Work that may finish after the command has returned: an ``evalai-mirror`` command run in a
process of its own, as git runs ``gc --auto`` in the background, so that the ``git push``
waiting on a hook is not held up by it.

Used for one thing: sharing the base a push moved (``evalai-mirror share``, a ``git push`` of
``refs/evalai-mirror/<branch>``: one more round trip to GitHub).  What the command prints goes
to a log file in the state folder, since the terminal has moved on.  On a CI runner (which may
stop leftover processes when its job ends), or with ``EVALAI_MIRROR_FOREGROUND=1``, the caller
does the work here and now instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FOREGROUND = "EVALAI_MIRROR_FOREGROUND"
"""Set to 1, evalai-mirror leaves nothing running after a command (a script that deletes the
repository next, a demo)."""


def can_detach() -> bool:
    """Whether :func:`start_detached` leaves the work to another process: not on a CI runner
    (``CI`` set, as GitHub Actions, GitLab CI and the others set it), nor with
    :data:`FOREGROUND` set."""
    return not os.environ.get("CI") and os.environ.get(FOREGROUND, "") in ("", "0")


def start_detached(args: list[str], cwd: Path, log: Path) -> bool:
    """Start ``evalai-mirror args`` (this Python, this installation) in ``cwd`` in a process
    that outlives this one: its stdin empty, its output to ``log`` (so that a hook's caller,
    which reads the hook's output to its end, is not kept waiting), none of this process's
    other files open in it.  True when it started; False when it could not (nothing ran: the
    caller does the work itself)."""
    if not can_detach():
        return False
    argv = [sys.executable, "-m", "evalai_mirror", *args]
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
                subprocess.Popen(
                    argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    creationflags=subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS,
                )
            else:  # a session of its own: Ctrl-C in the terminal does not reach it
                subprocess.Popen(
                    argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
    except OSError:
        return False
    return True


def last_output(log: Path) -> str:
    """What the last detached command wrote to ``log`` ('' when nothing, or no log)."""
    try:
        return log.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
