"""Sync state kept inside the git directory: what both sides last agreed on, and an audit log.

``<git common dir>/evalai-mirror/state.json`` holds one :class:`BranchState` per branch and
``log.jsonl`` one :class:`LogEntry` per line, appended.  Worktrees share both because they live
in the common git directory.  Writes are atomic and happen under a file lock, so ``watch`` and a
hook-driven ``push`` never interleave.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evalai_mirror import fsutil, ui
from evalai_mirror.errors import StateError

STATE_DIR = "evalai-mirror"
STATE_FILE = "state.json"
LOG_FILE = "log.jsonl"
LOCK_FILE = "state.lock"
FORMAT_VERSION = 1


def now_iso() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class BranchState:
    """What one branch of the repository is synced with, and the last agreed snapshot."""

    challenge_pk: int | None = None
    repository: str | None = None
    base: dict[str, Any] = field(default_factory=dict)
    structure: dict[str, str] = field(default_factory=dict)
    last_push: str | None = None
    last_pull: str | None = None
    last_push_commit: str | None = None
    pending: str | None = None
    # The write-ahead record of a push: field key -> the value a request is about to set on
    # EvalAI, written before the request is sent and dropped once it is acknowledged (the base
    # then holds the value).  What is left after a failed push is a value that may or may not
    # have reached EvalAI: if EvalAI holds it on the next run, it is our own, not an edit.
    in_flight: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> BranchState:
        """Build from parsed JSON; a value of the wrong type raises ValueError naming it."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} is not an object")
        state = cls()
        for spec in fields(cls):
            if spec.name not in data:
                continue
            value = data[spec.name]
            if spec.name == "challenge_pk":
                ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
            elif spec.name in ("base", "in_flight"):
                ok = isinstance(value, dict)
            elif spec.name == "structure":
                ok = isinstance(value, dict) and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                )
            else:
                ok = value is None or isinstance(value, str)
            if not ok:
                raise ValueError(f"{where}.{spec.name} has the wrong type")
            setattr(state, spec.name, value)
        return state


@dataclass
class LogEntry:
    """One line of the audit log."""

    time: str
    direction: str  # "push" | "pull" | "resolve" | "adopt"
    branch: str
    challenge_pk: int | None
    fields: list[str]
    commit: str | None
    command: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> LogEntry:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        pk = data.get("challenge_pk")
        if not isinstance(data.get("fields") or [], list):
            raise ValueError("fields is not a list of strings")
        entry = cls(
            time=data["time"],
            direction=data["direction"],
            branch=data["branch"],
            challenge_pk=pk,
            fields=list(data.get("fields") or []),
            commit=data.get("commit"),
            command=data.get("command", ""),
            detail=data.get("detail", ""),
        )
        texts = (entry.time, entry.direction, entry.branch, entry.command, entry.detail)
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("a text field is not a string")
        if pk is not None and (not isinstance(pk, int) or isinstance(pk, bool)):
            raise ValueError("challenge_pk is not a number")
        if not all(isinstance(f, str) for f in entry.fields):
            raise ValueError("fields is not a list of strings")
        if entry.commit is not None and not isinstance(entry.commit, str):
            raise ValueError("commit is not a string")
        return entry


class _LockTimeout(Exception):
    pass


class _FileLock:
    """An exclusive lock on a file between processes (``fcntl.flock``; ``msvcrt.locking`` on
    Windows), polled until a timeout, and between the threads of this process; re-entrant
    within a thread.  The operating system ends the lock with its process, so a crash leaves
    nothing to clean up (and the lock file must never be deleted to "unlock")."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        if not self._thread_lock.acquire(timeout=max(timeout, 0.0)):
            raise _LockTimeout(self.path)
        if self._depth:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise _LockTimeout(self.path)
                time.sleep(0.05)
        except BaseException:
            os.close(fd)
            self._thread_lock.release()
            raise
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                _unlock(fd)
            finally:
                os.close(fd)
        self._thread_lock.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# One lock object per lock file per process, so that nested ``lock()`` calls in one thread
# (and ``save`` inside a locked block) re-enter instead of waiting on themselves.
_LOCKS: dict[str, _FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> _FileLock:
    key = os.path.abspath(path)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = _FileLock(key)
        return lock


class StateStore:
    """Reads and writes the sync state of the repository whose git directory is ``git_dir``.

    ``save``, ``forget`` and ``append_log`` take the lock themselves (it is re-entrant within a
    thread), waiting up to ``lock_timeout`` seconds.
    """

    def __init__(self, git_dir: Path, *, lock_timeout: float = 30) -> None:
        self.lock_timeout = lock_timeout
        self.dir = Path(git_dir) / STATE_DIR
        self.state_path = self.dir / STATE_FILE
        self.log_path = self.dir / LOG_FILE
        self.lock_path = self.dir / LOCK_FILE

    @contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock; StateError when another process keeps it past ``timeout``
        seconds (the store's ``lock_timeout`` by default)."""
        if timeout is None:
            timeout = self.lock_timeout
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = _file_lock(self.lock_path)
        try:
            lock.acquire(timeout=timeout)
        except _LockTimeout:
            raise StateError(
                f"another evalai-mirror is running (watch?) and holds {self.lock_path}",
                hint="wait for it to finish or stop it; the lock ends with that process",
            ) from None
        try:
            yield
        finally:
            lock.release()

    # -- state.json -------------------------------------------------------------------------

    def _corrupt(self, why: str) -> StateError:
        aside = self.state_path.with_name(STATE_FILE + ".broken")
        return StateError(
            f"{self.state_path} is unreadable ({why})",
            hint=f"move it aside (mv {self.state_path} {aside}); "
            "the next push or pull will ask which side to trust",
        )

    def _read_all(self) -> dict[str, BranchState]:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(str(exc)) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._corrupt(f"not JSON: line {exc.lineno}: {exc.msg}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("branches", {}), dict):
            raise self._corrupt("not an evalai-mirror state file")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StateError(
                f"{self.state_path} was written by a newer evalai-mirror (format {version})",
                hint="upgrade evalai-mirror (pip install -U evalai-mirror)",
            )
        result: dict[str, BranchState] = {}
        for name, raw in data.get("branches", {}).items():
            try:
                result[name] = BranchState.from_json(raw, where=f"branches.{name}")
            except ValueError as exc:
                raise self._corrupt(str(exc)) from exc
        return result

    def _write_all(self, branches: dict[str, BranchState]) -> None:
        data = {
            "version": FORMAT_VERSION,
            "branches": {name: branches[name].to_json() for name in sorted(branches)},
        }
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        fsutil.remove_stale_temps(self.state_path)  # under the lock: left by a killed write
        fsutil.atomic_write_text(self.state_path, text)

    def load(self, branch: str) -> BranchState | None:
        """The state of ``branch``, None when it was never synced."""
        return self._read_all().get(branch)

    def save(self, branch: str, state: BranchState) -> None:
        """Store the state of ``branch`` (atomically, under the lock)."""
        with self.lock():
            branches = self._read_all()
            branches[branch] = state
            self._write_all(branches)

    def forget(self, branch: str) -> bool:
        """Drop the state of ``branch``; whether there was any."""
        with self.lock():
            branches = self._read_all()
            if branches.pop(branch, None) is None:
                return False
            self._write_all(branches)
            return True

    def branches(self) -> dict[str, BranchState]:
        return self._read_all()

    def branch_for_challenge(self, pk: int) -> str | None:
        """The branch whose state claims challenge ``pk``."""
        for name, state in sorted(self._read_all().items()):
            if state.challenge_pk == pk:
                return name
        return None

    # -- log.jsonl --------------------------------------------------------------------------

    def append_log(self, entry: LogEntry) -> None:
        """Add one line to the audit log (a single write in append mode)."""
        line = json.dumps(entry.to_json(), sort_keys=True, ensure_ascii=False) + "\n"
        with self.lock():  # lock() has made the folder
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_log(self) -> list[LogEntry]:
        """Every log entry, newest first; an unreadable line is skipped with a warning."""
        try:
            raw = self.log_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(
                f"cannot read {self.log_path}: {exc}", hint="check the file's permissions"
            ) from exc
        entries: list[LogEntry] = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entries.append(LogEntry.from_json(json.loads(line.decode("utf-8"))))
            except (ValueError, KeyError, TypeError) as exc:
                ui.warn(f"{self.log_path}:{number}: skipped an unreadable log line ({exc})")
        entries.reverse()
        return entries
