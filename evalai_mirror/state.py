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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evalai_mirror import UPGRADE_HINT, fsutil, ui
from evalai_mirror.errors import StateError
from evalai_mirror.records import asdict, field, fields, record

STATE_DIR = "evalai-mirror"
STATE_FILE = "state.json"
LOG_FILE = "log.jsonl"
LOCK_FILE = "state.lock"
WAIT_NOTICE = 1.0  # seconds of waiting for the lock before saying so
FORMAT_VERSION = 1


def now_iso() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@record
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
    # When each part of the agreed state last moved (see :func:`slots`): slot -> UTC time with
    # microseconds, stamped by :meth:`StateStore.save`.  Two clones that moved the same slot at
    # once are merged by it: the later value is the one EvalAI got last.
    moved: dict[str, str] = field(default_factory=dict)
    # How each field's base last moved: key -> {"from": the value before, "commit": the commit
    # that carries the new value (None: written into a working copy by a pull, not pushed
    # yet), "by": the clone that moved it}.  A commit that does not carry a move another clone
    # made (or a pull not pushed yet) still holds "from": that is not an edit made here.
    moves: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The commit of refs/evalai-mirror/<branch> this state was last merged with or published as
    # (per clone: the common ancestor of the next merge).
    shared: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as JSON values: the object's own, not copies (serialize them, do not
        change them)."""
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

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
            elif spec.name == "moves":
                ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
            elif spec.name in ("structure", "moved"):
                ok = isinstance(value, dict) and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                )
            else:
                ok = value is None or isinstance(value, str)
            if not ok:
                raise ValueError(f"{where}.{spec.name} has the wrong type")
            setattr(state, spec.name, value)
        return state


SHARED_SCALARS = ("challenge_pk", "repository", "last_push_commit")
"""The single values of a :class:`BranchState` that are slots of their own."""
LOCAL_ONLY = ("pending", "in_flight", "shared")
"""What stays with one clone: a push that clone could not send, its write-ahead record, and
which shared commit it last saw.  Everything else is the agreed state every clone shares."""


def slots(state: BranchState | None) -> dict[str, Any]:
    """The agreed state as independent slots: ``base/<field>``, ``structure/<part>`` and the
    single values of :data:`SHARED_SCALARS`.  Two writers are merged slot by slot."""
    if state is None:
        return {}
    found: dict[str, Any] = {f"base/{k}": v for k, v in state.base.items()}
    found.update({f"structure/{k}": v for k, v in state.structure.items()})
    found.update({f"move/{k}": v for k, v in state.moves.items()})
    for name in SHARED_SCALARS:
        value = getattr(state, name)
        if value is not None:
            found[name] = value
    return found


def set_slots(state: BranchState, values: dict[str, Any]) -> None:
    """Replace ``state``'s agreed values by ``values`` (as :func:`slots` names them)."""
    state.base = {k[5:]: v for k, v in values.items() if k.startswith("base/")}
    state.structure = {k[10:]: v for k, v in values.items() if k.startswith("structure/")}
    state.moves = {k[5:]: v for k, v in values.items() if k.startswith("move/")}
    for name in SHARED_SCALARS:
        setattr(state, name, values.get(name))


def precise_now() -> str:
    """The current UTC time with microseconds (orders two moves in the same second)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(old: BranchState | None, new: BranchState) -> None:
    """Record in ``new.moved`` the slots whose value differs from ``old``'s, as moved now."""
    before, after = slots(old), slots(new)
    when = precise_now()
    for key in set(before) | set(after):
        if key not in before or key not in after or not same_json(before[key], after[key]):
            new.moved[key] = when


_PLAIN = (str, int, bool, type(None))


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same (key order aside): the same text once serialized,
    with anything else (a date) as its ``str``.  Values of one plain type, and dicts and lists
    of them, are compared as they are (most comparisons: every field of every save)."""
    kind = type(a)
    if kind is type(b):
        if kind in _PLAIN:
            return bool(a == b)
        if kind is dict and a.keys() == b.keys():
            return all(same_json(a[key], b[key]) for key in a)
        if kind is list and len(a) == len(b):
            return all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@record
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

    def acquire(self, timeout: float, on_wait: Callable[[], None] | None = None) -> None:
        """Take the lock within ``timeout`` seconds; ``on_wait`` is called once when another
        process has held it for a second (so that a person learns why nothing happens)."""
        start = time.monotonic()
        deadline = start + max(timeout, 0.0)
        if not self._thread_lock.acquire(timeout=max(timeout, 0.0)):
            raise _LockTimeout(self.path)
        if self._depth:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while not _try_lock(fd):
                now = time.monotonic()
                if now >= deadline:
                    raise _LockTimeout(self.path)
                if on_wait is not None and now - start >= WAIT_NOTICE:
                    on_wait()
                    on_wait = None
                time.sleep(0.05)
            _write_holder(fd)
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


def _write_holder(fd: int) -> None:
    """Put this process's pid in the lock file it holds (for the "waiting for" message; the
    lock itself is the flock, and the file is never deleted)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except (OSError, AttributeError):  # pwrite: not on Windows
        pass


def lock_holder(path: Path) -> int | None:
    """The pid written in a lock file by the process that holds it, when it says."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


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


def move_base(
    state: BranchState, key: str, value: Any, *, commit: str | None, by: str
) -> None:
    """Set ``key``'s base to ``value`` and record how it moved (see ``BranchState.moves``):
    by a push of ``commit``, or (``commit`` None) by a pull into a working copy.  A commit
    that carries the base it had stops a pull's move from reading as not pushed yet."""
    old = state.base.get(key, _NOTHING)
    if old is not _NOTHING and same_json(old, value):
        move = state.moves.get(key)
        if move is not None and move.get("commit") is None and commit is not None:
            state.moves[key] = {**move, "commit": commit}
        return
    move = state.moves.get(key)
    if commit is None and move is not None and move.get("commit") is None:
        start = move.get("from")  # pulled twice before a push: commits still hold the first
    else:
        start = None if old is _NOTHING else old
    state.moves[key] = {"from": start, "commit": commit, "by": by}
    state.base[key] = value


_NOTHING = object()


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
        self._clone_id: str | None = None

    def clone_id(self) -> str:
        """This clone's own name in the shared state (made once, kept in the git directory;
        read once per store: a push asks for it per request it sends)."""
        if self._clone_id is not None:
            return self._clone_id
        path = self.dir / "clone-id"
        try:
            found = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            found = ""
        if not found:
            import uuid

            found = uuid.uuid4().hex[:12]
            fsutil.atomic_write_text(path, found + "\n")
        self._clone_id = found
        return found

    @contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock; StateError when another process keeps it past ``timeout``
        seconds (the store's ``lock_timeout`` by default)."""
        if timeout is None:
            timeout = self.lock_timeout
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = _file_lock(self.lock_path)

        def waiting() -> None:
            pid = lock_holder(self.lock_path)
            ui.err(
                "waiting for another evalai-mirror in this repository"
                + (f" (pid {pid})" if pid else "")
            )

        try:
            lock.acquire(timeout=timeout, on_wait=waiting)
        except _LockTimeout:
            pid = lock_holder(self.lock_path)
            raise StateError(
                f"another evalai-mirror is running (watch?){f' as pid {pid}' if pid else ''} "
                f"and holds {self.lock_path}",
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
                hint=UPGRADE_HINT,
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

    def save(self, branch: str, state: BranchState, *, moved_now: bool = True) -> None:
        """Store the state of ``branch`` (atomically, under the lock).  Every slot whose value
        changed is stamped as moved now, unless ``moved_now`` is False (a merge, which carries
        each slot's own time)."""
        with self.lock():
            branches = self._read_all()
            if moved_now:
                stamp(branches.get(branch), state)
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
        self._append(log_line(entry))

    def _append(self, lines: str) -> None:
        with self.lock():  # lock() has made the folder
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, lines.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def merge_log(self, entries: list[LogEntry]) -> int:
        """Append the entries this log lacks (another clone's); how many were added."""
        with self.lock():
            known = {log_line(e) for e in self.read_log()}
            new = sorted({log_line(e) for e in entries} - known)
            if new:
                self._append("".join(new))
            return len(new)

    def read_log(self) -> list[LogEntry]:
        """Every log entry, newest first (by time; the file's order among equal times); an
        unreadable line is skipped with a warning."""
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
        # newest first; another clone's entries are appended when fetched, so order by time
        entries.sort(key=lambda e: e.time, reverse=True)
        return entries


def log_line(entry: LogEntry) -> str:
    """One line of log.jsonl (also what makes two clones' copies of an entry the same)."""
    return json.dumps(entry.to_json(), sort_keys=True, ensure_ascii=False) + "\n"
