"""The only module that touches git: a repository's identity, branch, a commit's files, commits,
pushes and the hooks folder, through the git command.

Every failure of git becomes :class:`~evalai_mirror.errors.GitError` carrying git's own message
and a next step.  What every sync reads is read cheaply: the branch and HEAD's commit from the
files git keeps them in (git itself when they are anything unusual), a commit's tree with one
``git ls-tree`` and its files through one ``git cat-file --batch`` that stays open while the
commit is read.  No third-party git library is loaded: a hook's push pays for one ``git
rev-parse``, one ``ls-tree`` and one ``cat-file``.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import threading
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from evalai_mirror.errors import GitError

_SYMLINK_DEPTH = 8
_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^/:]+:(?!//)(?P<path>.+)$")


def _git_message(exc: Exception) -> str:
    """The useful line(s) of what git said (its last three, without hints)."""
    stderr = getattr(exc, "stderr", "") or ""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = []
    for raw in str(stderr).splitlines():
        line = raw.strip()
        for prefix in ("fatal:", "error:"):
            if line.startswith(prefix):
                line = line[len(prefix) :].strip()
        if line and not line.startswith("hint:"):
            lines.append(line.rstrip("."))
    if not lines:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        text = "; ".join(lines[-3:])
    return _CREDENTIALS.sub(r"\1***@", text)  # a token in a remote URL is never shown


_NOT_FOUND = GitError("the git command was not found", hint="install git and put it on PATH")
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: ours (or ``extra``, a whole environment), with git's
    messages in English, as the code reading them expects."""
    env = dict(os.environ if extra is None else extra)
    env["LANGUAGE"] = "C"
    env["LC_ALL"] = "C"
    return env


def _exec(args: Sequence[str], cwd: Path | str, env: dict[str, str] | None = None,
          data: bytes | None = None) -> tuple[int, str, str]:
    """Run ``git args`` in ``cwd`` (``data`` on its stdin); (status, stdout, stderr) whatever
    the status."""
    try:
        proc = subprocess.run(  # no data: an empty stdin, never the terminal's
            ["git", *args], cwd=cwd, env=_env(env), capture_output=True, input=data or b""
        )
    except FileNotFoundError as exc:
        raise _NOT_FOUND from exc
    out = proc.stdout.decode("utf-8", "replace")
    return proc.returncode, out, proc.stderr.decode("utf-8", "replace")


def repository_from_url(url: str) -> str | None:
    """``owner/name`` from a remote URL (https, ssh, scp-like, a local path or file://)."""
    url = url.strip().rstrip("/")
    if not url:
        return None
    if "://" in url:
        rest = url.split("://", 1)[1]
        path = rest.split("/", 1)[1] if "/" in rest else ""
        if url.startswith("file://"):
            path = rest
    else:
        match = _SCP_LIKE.match(url)
        is_windows_drive = len(url) > 1 and url[1] == ":" and url[0].isalpha()
        path = match.group("path") if match and not is_windows_drive else url
    path = path.replace("\\", "/").rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    parts = [part for part in path.split("/") if part and part not in (".", "..")]
    if len(parts) < 2:
        return None
    return f"{parts[-2]}/{parts[-1]}"


class _Blobs:
    """One ``git cat-file --batch`` process reading blobs by id, started on the first read and
    ended with the object that owns it (or this process)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one question and its answer at a time

    def read(self, sha: str) -> bytes:
        found = self.find(sha)
        if found is None:
            raise GitError(
                f"cannot read object {sha[:12]} from the repository at {self._root} (missing)",
                hint="check the repository with `git fsck`",
            )
        return found

    def find(self, name: str) -> bytes | None:
        """The blob ``name`` (an id, or ``<commit>:<path>``) names; None when there is none."""
        with self._lock:
            return self._read(name)

    def _read(self, name: str) -> bytes | None:
        proc = self._proc
        if proc is None:
            try:
                proc = subprocess.Popen(
                    ["git", "cat-file", "--batch"], cwd=self._root, env=_env(),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError as exc:
                raise _NOT_FOUND from exc
            self._proc = proc
            weakref.finalize(self, _end, proc)
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(name.encode("utf-8") + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if header[-1:] in ([b"missing"], [b"ambiguous"]):
                return None
            if len(header) != 3:
                raise OSError(f"git cat-file answered {b' '.join(header)!r}")
            data = _read_exactly(stdout, int(header[2]))
            stdout.read(1)  # the newline after the contents
            if header[1] != b"blob":
                return None  # a folder, or a submodule's commit: not a file
        except (OSError, ValueError) as exc:
            self._proc = None
            _end(proc)
            raise GitError(
                f"cannot read object {name[:12]} from the repository at {self._root} ({exc})",
                hint="check the repository with `git fsck`",
            ) from exc
        return data


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise OSError("git cat-file stopped early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _end(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


class PendingFetch:
    """A ``git fetch`` of one ref running on the side (:meth:`GitRepo.start_fetch_ref`)."""

    def __init__(self, repo: GitRepo, remote: str, ref: str,
                 proc: subprocess.Popen[bytes]) -> None:
        self.repo, self.remote, self.ref = repo, remote, ref
        self._proc = proc

    def result(self) -> str | None:
        """Wait for the fetch: the commit the ref now points at here, None when the remote has
        no such ref; GitError when the remote could not be read."""
        _, raw = self._proc.communicate()
        err = raw.decode("utf-8", "replace")
        if self._proc.returncode != 0:
            if "couldn't find remote ref" in err:
                return None
            raise GitError(
                f"git fetch {self.remote} {self.ref} failed: {_git_message(_Failure(err))}",
                hint=f"check `git remote get-url {self.remote}` and your network",
            )
        return self.repo.ref_sha(self.ref)

    def cancel(self) -> None:
        """Stop a fetch nobody will wait for.  SIGTERM, which git answers by removing its lock
        files; a kill only if it does not end."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
        elif self._proc.stderr is not None:
            self._proc.communicate()


class CommitSource:
    """A :class:`~evalai_mirror.source.FileSource` over one commit's tree (never the work tree).

    The file list comes from the tree (one ``git ls-tree``); blobs are read when asked for, and
    each once.  A symbolic link inside the tree is followed to the file it names (as the working
    copy would); one that leads out of the tree, or a submodule, is not a file.
    """

    def __init__(self, repo: GitRepo, sha: str, label: str) -> None:
        self._repo = repo
        self.sha = sha
        self.label = label
        self._files: dict[str, tuple[int, str]] | None = None  # path -> (mode, blob id)
        self._sizes: dict[str, int] = {}  # blob id -> size, from the same ls-tree
        self._blobs = _Blobs(repo.root)
        self._read: dict[str, bytes] = {}

    def _entries(self) -> dict[str, tuple[int, str]]:
        if self._files is None:
            out = self._repo._git("ls-tree", "-r", "-z", "-l", "--full-tree", self.sha)
            files: dict[str, tuple[int, str]] = {}
            for entry in out.split("\0"):
                meta, _, path = entry.partition("\t")
                parts = meta.split()  # mode, type, id, size
                if len(parts) == 4 and parts[1] == "blob":
                    files[path] = (int(parts[0], 8), parts[2])
                    if parts[3].isdigit():
                        self._sizes[parts[2]] = int(parts[3])
            self._files = files
        return self._files

    def _data(self, blob_id: str) -> bytes:
        data = self._read.get(blob_id)
        if data is None:
            data = self._read[blob_id] = self._blobs.read(blob_id)
        return data

    def _blob(self, path: str) -> str | None:
        """The id of the file's blob, symbolic links followed; None when it is no file."""
        from evalai_mirror.source import normalise

        norm = normalise(path)
        for _ in range(_SYMLINK_DEPTH):
            if norm is None:
                return None
            entry = self._entries().get(norm)
            if entry is None:
                return None
            mode, blob_id = entry
            if mode & 0o170000 != 0o120000:
                return blob_id
            target = self._data(blob_id).decode("utf-8", "replace")
            if target.startswith("/"):
                return None
            norm = normalise(posixpath.join(posixpath.dirname(norm), target))
        return None

    def read(self, path: str) -> bytes | None:
        blob_id = self._blob(path)
        return None if blob_id is None else self._data(blob_id)

    def read_in(self, commit: str, path: str) -> bytes | None:
        """The file ``path`` as commit ``commit`` holds it (read by this source's git process,
        to compare with another commit); None when that commit or file is not here."""
        from evalai_mirror.source import normalise

        norm = normalise(path)
        if norm is None or not _SHA.match(commit) or "\n" in norm:
            return None
        return self._blobs.find(f"{commit}:{norm}")

    def is_file(self, path: str) -> bool:
        return self._blob(path) is not None

    def size(self, path: str) -> int | None:
        blob_id = self._blob(path)
        return None if blob_id is None else self._sizes.get(blob_id)

    def file_id(self, path: str) -> str | None:
        return self._blob(path)

    def list_files(self, prefix: str = "") -> list[str]:
        prefix = prefix.strip("/")
        names = [name for name in self._entries() if self._blob(name) is not None]
        if prefix:
            names = [name for name in names if name.startswith(prefix + "/")]
        return sorted(names)


# folder -> (work tree, this worktree's git folder, the common git folder)
_OPENED: dict[Path, tuple[Path, Path, Path]] = {}
# Set, these change where git looks for a repository: git itself is asked then.
_DISCOVERY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
                  "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _discover(folder: Path) -> tuple[Path, Path, Path] | None:
    """(work tree, git folder, common git folder) of the repository holding ``folder``, found
    as git finds it in the plain cases: a ``.git`` folder, or a ``.git`` file naming a
    worktree's folder, in ``folder`` or a parent, owned by this user.  None for anything else
    (a variable above set, a bare or ``core.worktree`` repository, another owner's folder,
    no repository): git is asked then, and says what is wrong."""
    if any(os.environ.get(name) for name in _DISCOVERY_ENV) or not hasattr(os, "getuid"):
        return None
    for root in (folder, *folder.parents):
        dot = root / ".git"
        try:
            if dot.is_dir():
                git_dir = dot
            elif dot.is_file():
                text = dot.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir:"):
                    return None
                git_dir = (root / text[len("gitdir:") :].strip()).resolve()
            else:
                continue
            if root.stat().st_uid != os.getuid() or not (git_dir / "HEAD").is_file():
                return None
            common = git_dir
            if (git_dir / "commondir").is_file():
                common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
            config = (common / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if "worktree" in config or "bare = true" in config.replace("\t", " "):
            return None
        return root, git_dir, common
    return None


class GitRepo:
    """A git repository with a working tree."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root.resolve()
        # This worktree's own folder (its HEAD) and the folder every worktree of the
        # repository shares (refs, objects, our state).
        self.worktree_git_dir = git_dir.resolve()
        self.git_dir = common_dir.resolve()
        self._commits: set[str] = set()  # shas known to name commits (no need to ask git)
        # has_remote's answers (one git config each, or known from origin_repository)
        self._remotes: dict[str, bool] = {}

    @classmethod
    def open(cls, path: str | Path = ".") -> GitRepo:
        """The repository that holds ``path`` (parent folders are searched).  Where a folder's
        repository is is asked of git once per process (a push asks twice)."""
        start = Path(path)
        if not start.exists():
            raise GitError(f"{start} does not exist", hint="pass an existing folder")
        folder = (start if start.is_dir() else start.parent).resolve()
        found = _OPENED.get(folder)
        if found is not None and (found[0] / ".git").exists():
            return cls(*found)
        found = _discover(folder)
        if found is not None:
            _OPENED[folder] = found
            return cls(*found)
        status, out, err = _exec(
            ["rev-parse", "--absolute-git-dir", "--git-common-dir", "--show-toplevel"], folder
        )
        lines = out.splitlines()
        if status == 0 and len(lines) == 3:  # the common dir may be relative to ``folder``
            where = (Path(lines[2]), Path(lines[0]), folder / lines[1])
            _OPENED[folder] = where
            return cls(*where)
        if len(lines) == 2:  # the git folders, and no work tree
            raise GitError(
                f"{lines[0]} is a bare repository",
                hint="run evalai-mirror inside a clone of the challenge repository",
            )
        if "not a git repository" in err:
            raise GitError(
                f"{start.resolve()} is not inside a git repository",
                hint="cd into the challenge repository, or run `git init` there first",
            )
        raise GitError(
            f"cannot open the repository at {start}: {_git_message(_Failure(err))}",
            hint="check that the folder is a readable git repository",
        )

    @classmethod
    def init(cls, path: str | Path, branch: str) -> GitRepo:
        """A new repository in the existing folder ``path``, its first branch ``branch``."""
        status, _, err = _exec(["init", "-q"], Path(path))
        if status != 0:
            raise GitError(
                f"git init failed in {path}: {_git_message(_Failure(err))}",
                hint="check that the folder exists and is writable",
            )
        new = cls.open(path)
        status, _, _ = new._run("check-ref-format", "--branch", branch)
        if status != 0 or branch.startswith("-"):
            raise GitError(
                f"{branch!r} is not a valid branch name", hint="choose another, e.g. challenge"
            )
        new._git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return new

    # -- plumbing ---------------------------------------------------------------------------

    def _run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Run git in the root; (status, stdout, stderr) whatever the status."""
        return _exec(args, self.root, env)

    def _git(
        self,
        *args: str,
        hint: str = "fix the problem git reports and retry",
        env: dict[str, str] | None = None,
    ) -> str:
        status, out, err = self._run(*args, env=env)
        if status != 0:
            message = _git_message(_Failure(err)) if err.strip() else f"exit status {status}"
            raise GitError(f"git {args[0]} failed: {message}", hint=hint)
        return out

    # -- identity and history ---------------------------------------------------------------

    def _head(self) -> str:
        try:
            return (self.worktree_git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise GitError(
                f"cannot read HEAD in {self.root} ({exc})",
                hint="check the repository with `git status`",
            ) from None

    def current_branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached.

        Read from this worktree's HEAD file, with no git process: every sync asks, and watch
        asks on every poll."""
        head = self._head()
        if not head.startswith("ref:"):
            return None
        return head[len("ref:") :].strip().removeprefix("refs/heads/") or None

    def head_sha(self) -> str | None:
        """HEAD's commit, None before the first commit.

        Read from the ref files when HEAD names a branch git keeps in one (loose or packed),
        else from git."""
        head = self._head()
        if _SHA.match(head):
            return head
        ref = head[len("ref:") :].strip() if head.startswith("ref:") else ""
        if ref.startswith("refs/heads/") and ".." not in ref:
            found = self._loose_or_packed(ref)
            if found is not None:
                return found
        status, out, _ = self._run("rev-parse", "-q", "--verify", "HEAD^{commit}")
        return out.strip() if status == 0 else None

    def _loose_or_packed(self, ref: str) -> str | None:
        try:
            sha = (self.git_dir / ref).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            sha = ""
        if _SHA.match(sha):
            return sha
        try:
            packed = (self.git_dir / "packed-refs").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        for line in packed.splitlines():
            value, _, name = line.partition(" ")
            if name == ref and _SHA.match(value):
                return value
        return None

    def resolve(self, rev: str) -> str:
        """The full sha of the commit ``rev`` names."""
        if rev.startswith("-"):
            raise GitError(f"{rev!r} is not a revision", hint="pass a branch, tag or commit sha")
        if rev == "HEAD":  # the common case (every hook, every push): no git process
            found = self.head_sha()
            if found is None:
                raise GitError(
                    "HEAD has no commit yet", hint="commit the challenge first, then sync"
                )
            self._commits.add(found)
            return found
        if rev in self._commits:
            return rev
        if _SHA.match(rev) and rev == self.head_sha():  # a hook's pushed commit, mostly
            self._commits.add(rev)
            return rev
        status, out, _ = self._run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}")
        if status != 0:
            raise GitError(
                f"unknown revision {rev!r}",
                hint="pass a branch, tag or commit sha that exists (see `git log`)",
            )
        sha = out.strip()
        self._commits.add(sha)
        return sha

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is ``b`` or one of its ancestors."""
        sha_a, sha_b = self.resolve(a), self.resolve(b)
        status, _, err = self._run("merge-base", "--is-ancestor", sha_a, sha_b)
        if status in (0, 1):
            return status == 0
        raise GitError(
            f"git merge-base failed: {_git_message(_Failure(err))}",
            hint="check the repository with `git fsck`",
        )

    def commits_between(self, old: str | None, new: str) -> list[str]:
        """Commits reachable from ``new`` but not from ``old`` (all of them when ``old`` is
        None), oldest first."""
        args = ["rev-list", "--reverse", self.resolve(new)]
        if old is not None:
            args += ["--not", self.resolve(old)]
        return self._git(*args, "--").split()

    def origin_repository(self, remote: str = "origin") -> str | None:
        """``owner/name`` of ``remote``'s URL, None when there is no such remote."""
        status, out, _ = self._run("remote", "get-url", "--", remote)
        if status != 0:
            return None
        self._remotes[remote] = True  # has_remote need not ask again
        return repository_from_url(out.strip())

    def config_get(self, key: str) -> str | None:
        status, out, err = self._run("config", "--get", "--", key)
        if status == 0:
            return out.rstrip("\n")
        if status == 1:
            return None
        raise GitError(
            f"git config --get {key} failed: {_git_message(_Failure(err))}",
            hint="check the key's spelling and the git config files",
        )

    # -- files ------------------------------------------------------------------------------

    def commit_source(self, rev: str = "HEAD") -> CommitSource:
        """The files of commit ``rev``, read from its tree."""
        sha = self.resolve(rev)
        return CommitSource(self, sha, label=f"commit {sha[:7]}")

    @staticmethod
    def _pathspecs(paths: Iterable[str]) -> list[str]:
        return [f":(top,literal){p.strip('/')}" for p in paths if p.strip("/")]

    def is_tracked(self, path: str) -> bool:
        """Whether the index has ``path`` (or, for a folder, a file below it)."""
        specs = self._pathspecs([path])
        if not specs:
            return False
        return bool(self._git("ls-files", "-z", "--cached", "--", *specs).strip("\0"))

    def dirty_paths(self, paths: Iterable[str]) -> set[str]:
        """Which of ``paths`` have staged or unstaged changes, or are untracked (a folder is
        dirty when a file below it is)."""
        wanted = [p for p in paths if p.strip("/")]
        if not wanted:
            return set()
        out = self._git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--",
            *self._pathspecs(wanted),
        )
        changed: set[str] = set()
        fields = out.split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            changed.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy: the next field is the old name
                if i < len(fields):
                    changed.add(fields[i])
                i += 1
        result = set()
        for path in wanted:
            norm = path.strip("/")
            if any(c == norm or c.startswith(norm + "/") for c in changed):
                result.add(path)
        return result

    # -- writing ----------------------------------------------------------------------------

    def commit_paths(self, paths: Sequence[str], message: str, *, verify: bool = True) -> str:
        """Commit exactly ``paths`` as they are in the working tree (new, changed or deleted)
        and nothing else that is staged; return the new commit's sha.

        With ``verify=False`` the pre-commit hook is skipped (``--no-verify``) and our own
        hooks see ``EVALAI_MIRROR_SKIP_HOOKS=1`` (so a commit made by a pull does not push).
        """
        specs = self._pathspecs(paths)
        if not specs:
            raise GitError("nothing to commit: no paths given", hint="name the files to commit")
        untracked = [p for p in paths if (self.root / p).exists() and not self.is_tracked(p)]
        if untracked:
            self._git("add", "--", *self._pathspecs(untracked), hint="check the file names")
        args = ["commit", "-q", "--only", "-m", message]
        env = None
        if not verify:
            args.append("--no-verify")
            env = {**os.environ, "EVALAI_MIRROR_SKIP_HOOKS": "1"}
        self._git(
            *args, "--", *specs,
            hint="set user.name and user.email with `git config` if git asks who you are, "
            "or fix what the hook reported",
            env=env,
        )
        sha = self.head_sha()
        assert sha is not None
        return sha

    def commit_all(self, message: str) -> str:
        """Commit every change in the working tree (new, changed and deleted files, as
        ``git add -A`` sees them); return the new commit's sha."""
        self._git("add", "-A", hint="check the files git names")
        self._git(
            "commit", "-q", "-m", message,
            hint="set user.name and user.email with `git config` if git asks who you are, "
            "or fix what the hook reported",
        )
        sha = self.head_sha()
        assert sha is not None
        return sha

    def push(self, remote: str, branch: str, *, verify: bool = True) -> str:
        """Push local ``branch`` to the branch of the same name on ``remote``; what git and
        the hooks it ran wrote (stdout, then stderr)."""
        args = ["push"]
        if not verify:
            args.append("--no-verify")
        status, out, err = self._run(
            *args, "--", remote, f"refs/heads/{branch}:refs/heads/{branch}"
        )
        if status == 0:
            return out + err
        message = _git_message(_Failure(err)) if err.strip() else f"exit status {status}"
        if "rejected" in message or "fetch first" in message or "non-fast-forward" in message:
            hint = f"run `git pull {remote} {branch}` first, then push again"
        elif "hook" in message:
            hint = "fix what the pre-push hook reported, then push again"
        else:
            hint = f"check `git remote get-url {remote}` and your access to it"
        raise GitError(f"git push to {remote} failed: {message}", hint=hint)

    # -- evalai-mirror's own refs (the shared sync state, see shared.py) --------------------

    def has_remote(self, name: str) -> bool:
        """Whether a remote called ``name`` is configured (asked once per repository object:
        a command asks before it fetches and again before it publishes)."""
        if name not in self._remotes:
            self._remotes[name] = self.config_get(f"remote.{name}.url") is not None
        return self._remotes[name]

    def ref_sha(self, ref: str) -> str | None:
        """The commit ``ref`` (a full ref name) points at here, None when there is no such ref.
        Read from the ref files when it is kept in one (loose or packed), else from git."""
        if ref.startswith("refs/") and ".." not in ref:
            found = self._loose_or_packed(ref)
            if found is not None:
                return found
        status, out, _ = self._run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
        return out.strip() if status == 0 else None

    def fetch_ref(self, remote: str, ref: str) -> str | None:
        """Fetch ``ref`` from ``remote`` into the ref of the same name here (forced: this copy
        only mirrors the remote's); the commit it now points at, None when the remote has no
        such ref (this one is then left as it was).  GitError when the remote cannot be read.
        No hook runs, nothing is prompted for, FETCH_HEAD is left alone."""
        return self.start_fetch_ref(remote, ref).result()

    def start_fetch_ref(self, remote: str, ref: str) -> PendingFetch:
        """:meth:`fetch_ref` started on the side: the fetch runs while this process goes on,
        and :meth:`PendingFetch.result` waits for it."""
        try:
            proc = subprocess.Popen(
                ["git", "fetch", "-q", "--no-tags", "--no-write-fetch-head", "--", remote,
                 f"+{ref}:{ref}"],
                cwd=self.root, env=_env(_quiet_network_env()), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise _NOT_FOUND from exc
        return PendingFetch(self, remote, ref, proc)

    def commit_files(self, files: dict[str, bytes], parents: Sequence[str], message: str) -> str:
        """A new commit (no branch moves) whose tree holds exactly ``files`` (flat names), with
        ``parents``; its sha.  Plumbing only: hash-object, mktree, commit-tree."""
        entries = []
        for name in sorted(files):
            if not name or "/" in name or name in (".", ".."):
                raise GitError(f"{name!r} is not a flat file name", hint="report this bug")
            blob = self._git_input(files[name], "hash-object", "-w", "--stdin").strip()
            entries.append(f"100644 blob {blob}\t{name}\n")
        tree = self._git_input("".join(entries).encode("utf-8"), "mktree").strip()
        args = ["commit-tree", tree, "-m", message]
        for parent in parents:
            args += ["-p", parent]
        status, out, err = self._run(*args)
        if status != 0 and any(w in err for w in ("who you are", "ident", "email address")):
            env = {**os.environ}  # a CI runner may have no identity configured
            for who in ("AUTHOR", "COMMITTER"):
                env.setdefault(f"GIT_{who}_NAME", "evalai-mirror")
                env.setdefault(f"GIT_{who}_EMAIL", "evalai-mirror@localhost")
            return self._git(*args, env=env).strip()
        if status != 0:
            raise GitError(
                f"git commit-tree failed: {_git_message(_Failure(err))}",
                hint="check the repository with `git fsck`",
            )
        return out.strip()

    def read_files(self, sha: str) -> dict[str, bytes]:
        """The files at the top of commit ``sha``'s tree, by name."""
        source = CommitSource(self, sha, label=f"commit {sha[:7]}")
        files: dict[str, bytes] = {}
        for name in source.list_files():
            if "/" not in name:
                data = source.read(name)
                if data is not None:
                    files[name] = data
        return files

    def update_ref(self, ref: str, sha: str) -> None:
        """Point ``ref`` at ``sha`` here."""
        self._git("update-ref", "-m", "evalai-mirror", "--", ref, sha)

    def push_ref(self, remote: str, sha: str, ref: str) -> bool:
        """Push commit ``sha`` to ``ref`` on ``remote``, never forced; False when the remote
        refused it because its ref moved on (fetch, merge and retry), GitError on any other
        failure.  Hooks are skipped (this runs inside the pre-push hook, which must not run
        itself again) and our own hooks see ``EVALAI_MIRROR_SKIP_HOOKS=1``."""
        status, _, err = self._run(
            "push", "-q", "--no-verify", "--", remote, f"{sha}:{ref}",
            env={**_quiet_network_env(), "EVALAI_MIRROR_SKIP_HOOKS": "1"},
        )
        if status == 0:
            return True
        if "cannot lock ref" in err or (  # another push of the ref was under way there
            "remote rejected" not in err  # (not the remote's own hook saying no)
            and any(word in err for word in ("fetch first", "non-fast-forward", "stale info"))
        ):
            return False
        raise GitError(
            f"git push {remote} {ref} failed: {_git_message(_Failure(err))}",
            hint=f"check `git remote get-url {remote}` and your write access to it",
        )

    def _git_input(self, data: bytes, *args: str) -> str:
        """Run git with ``data`` on its stdin; its stdout."""
        status, out, err = _exec(args, self.root, data=data)
        if status != 0:
            raise GitError(
                f"git {args[0]} failed: {_git_message(_Failure(err))}",
                hint="check the repository with `git fsck`",
            )
        return out

    def add_remote(self, name: str, url: str) -> None:
        """Add the remote ``name`` pointing at ``url``."""
        self._git("remote", "add", "--", name, url, hint=f"see `git remote -v`; {name} may exist")
        self._remotes.pop(name, None)

    def log_oneline(self, count: int = 10) -> list[str]:
        """The newest ``count`` commits of HEAD as ``<short sha> <subject>``."""
        if self.head_sha() is None:
            return []
        out = self._git("log", f"-{int(count)}", "--format=%h %s", "--")
        return out.splitlines()

    def hooks_dir(self) -> Path:
        """The folder git runs hooks from (``core.hooksPath`` when set)."""
        out = self._git("rev-parse", "--git-path", "hooks").strip()
        path = Path(out)
        if not path.is_absolute():
            path = self.root / path
        return Path(os.path.abspath(path))


def _quiet_network_env() -> dict[str, str]:
    """The environment for git's network commands run on the side: never wait for a password
    typed at a terminal (a hook or CI runner has none to give)."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


class _Failure(Exception):
    """Carries a stderr text to :func:`_git_message`."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


def init_bare(path: str | Path) -> Path:
    """A new bare repository at ``path`` (e.g. a stand-in for a GitHub remote)."""
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    status, _, err = _exec(["init", "-q", "--bare"], target)
    if status != 0:
        raise GitError(
            f"git init --bare failed in {target}: {_git_message(_Failure(err))}",
            hint="check that the folder is writable",
        )
    return target
