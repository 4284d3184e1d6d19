"""The only module that touches git: a repository's identity, branch, a commit's files, commits,
pushes and the hooks folder, through GitPython.

Every failure of git becomes :class:`~evalai_mirror.errors.GitError` carrying git's own message
and a next step; a GitPython traceback never reaches the user.  GitPython is imported when a
repository is opened, so modules that only import this one stay quick to load.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalai_mirror.errors import GitError

_SYMLINK_DEPTH = 8
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^/:]+:(?!//)(?P<path>.+)$")


def _git_message(exc: Exception) -> str:
    """The useful line(s) of what git said (its last three, without hints)."""
    stderr = getattr(exc, "stderr", "") or ""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = []
    for raw in str(stderr).splitlines():
        line = raw.strip()
        if line.startswith("stderr:"):  # GitPython's GitCommandError wraps it in quotes
            line = line[len("stderr:") :].strip().strip("'").strip()
        for prefix in ("fatal:", "error:"):
            if line.startswith(prefix):
                line = line[len(prefix) :].strip()
        if line and not line.startswith("hint:"):
            lines.append(line.rstrip("."))
    if not lines:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "; ".join(lines[-3:])


@contextmanager
def _gitpython_errors(failure: str, *, hint: str) -> Iterator[None]:
    """GitPython's errors in the block as :class:`GitError`: a missing git command says so,
    any other is ``<failure>: <what git said>`` with ``hint``."""
    import git

    try:
        yield
    except git.GitCommandNotFound as exc:
        raise GitError(
            "the git command was not found", hint="install git and put it on PATH"
        ) from exc
    except git.GitError as exc:
        raise GitError(f"{failure}: {_git_message(exc)}", hint=hint) from exc


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


class CommitSource:
    """A :class:`~evalai_mirror.source.FileSource` over one commit's tree (never the work tree).

    The file list comes from the tree; blobs are read when asked for.  A symbolic link inside the
    tree is followed to the file it names (as the working copy would); one that leads out of the
    tree, or a submodule, is not a file.
    """

    def __init__(self, commit: Any, label: str) -> None:
        self._commit = commit
        self.sha: str = commit.hexsha
        self.label = label
        self._files: dict[str, Any] | None = None

    def _entries(self) -> dict[str, Any]:
        if self._files is None:
            files: dict[str, Any] = {}
            for item in self._commit.tree.traverse():
                if item.type == "blob":
                    files[item.path] = item
            self._files = files
        return self._files

    def _blob(self, path: str) -> Any:
        from evalai_mirror.source import normalise

        norm = normalise(path)
        for _ in range(_SYMLINK_DEPTH):
            if norm is None:
                return None
            blob = self._entries().get(norm)
            if blob is None:
                return None
            if blob.mode & 0o170000 != 0o120000:
                return blob
            target = blob.data_stream.read().decode("utf-8", "replace")
            if target.startswith("/"):
                return None
            norm = normalise(posixpath.join(posixpath.dirname(norm), target))
        return None

    def read(self, path: str) -> bytes | None:
        blob = self._blob(path)
        if blob is None:
            return None
        data: bytes = blob.data_stream.read()
        return data

    def is_file(self, path: str) -> bool:
        return self._blob(path) is not None

    def file_id(self, path: str) -> str | None:
        blob = self._blob(path)
        return None if blob is None else str(blob.hexsha)

    def list_files(self, prefix: str = "") -> list[str]:
        prefix = prefix.strip("/")
        names = [name for name in self._entries() if self._blob(name) is not None]
        if prefix:
            names = [name for name in names if name.startswith(prefix + "/")]
        return sorted(names)


class GitRepo:
    """A git repository with a working tree."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo
        if repo.working_tree_dir is None:
            raise GitError(
                f"{repo.git_dir} is a bare repository",
                hint="run evalai-mirror inside a clone of the challenge repository",
            )
        self.root = Path(repo.working_tree_dir).resolve()
        # The folder shared by every worktree of the repository (GitPython reads it from the
        # worktree's commondir file; no git process).
        self.git_dir = Path(repo.common_dir).resolve()

    @classmethod
    def open(cls, path: str | Path = ".") -> GitRepo:
        """The repository that holds ``path`` (parent folders are searched)."""
        try:
            import git
        except ImportError as exc:  # pragma: no cover - a broken installation
            raise GitError(
                f"GitPython cannot be loaded ({exc})",
                hint="reinstall evalai-mirror and check that git is on PATH",
            ) from exc
        start = Path(path)
        with _gitpython_errors(
            f"cannot open the repository at {start}",
            hint="check that the folder is a readable git repository",
        ):
            try:
                repo = git.Repo(start, search_parent_directories=True)
            except git.NoSuchPathError as exc:
                raise GitError(f"{start} does not exist", hint="pass an existing folder") from exc
            except git.InvalidGitRepositoryError as exc:
                raise GitError(
                    f"{start.resolve()} is not inside a git repository",
                    hint="cd into the challenge repository, or run `git init` there first",
                ) from exc
        return cls(repo)

    @classmethod
    def init(cls, path: str | Path, branch: str) -> GitRepo:
        """A new repository in the existing folder ``path``, its first branch ``branch``."""
        import git

        with _gitpython_errors(
            f"git init failed in {path}", hint="check that the folder exists and is writable"
        ):
            repo = git.Repo.init(Path(path))
        new = cls(repo)
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
        status, out, err = self._repo.git.execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            strip_newline_in_stdout=False,
            env=env,
        )
        return int(status), str(out), str(err)

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

    def current_branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached.

        Read from this worktree's HEAD file by GitPython, with no git process: every sync
        asks, and watch asks on every poll."""
        try:
            target = self._repo.head.reference.path
        except TypeError:  # GitPython's answer for a HEAD that holds a sha (detached)
            return None
        except (OSError, ValueError) as exc:
            raise GitError(
                f"cannot read HEAD in {self.root} ({exc})",
                hint="check the repository with `git status`",
            ) from None
        return target.removeprefix("refs/heads/") or None

    def head_sha(self) -> str | None:
        """HEAD's commit, None before the first commit."""
        try:
            return str(self._repo.head.commit.hexsha)
        except (TypeError, ValueError):  # an unborn branch, or a HEAD GitPython cannot read: ask git
            status, out, _ = self._run("rev-parse", "-q", "--verify", "HEAD^{commit}")
            return out.strip() if status == 0 else None

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
            return found
        status, out, _ = self._run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}")
        if status != 0:
            raise GitError(
                f"unknown revision {rev!r}",
                hint="pass a branch, tag or commit sha that exists (see `git log`)",
            )
        return out.strip()

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
        commit = self._repo.commit(sha)
        return CommitSource(commit, label=f"commit {sha[:7]}")

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

    def add_remote(self, name: str, url: str) -> None:
        """Add the remote ``name`` pointing at ``url``."""
        self._git("remote", "add", "--", name, url, hint=f"see `git remote -v`; {name} may exist")

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


class _Failure(Exception):
    """Carries a stderr text to :func:`_git_message`."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


def init_bare(path: str | Path) -> Path:
    """A new bare repository at ``path`` (e.g. a stand-in for a GitHub remote)."""
    import git

    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    try:
        git.Repo.init(target, bare=True)
    except git.GitError as exc:
        raise GitError(
            f"git init --bare failed in {target}: {_git_message(exc)}",
            hint="check that the folder is writable",
        ) from exc
    return target
