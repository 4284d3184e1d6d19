"""The challenge repository the benchmarks work in, made as tests/conftest.py's
``challenge_repo`` makes it (tests do not import this; benchmarks do not import tests).

Benchmarks are run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path`` and
they import it as ``_repo``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "challenge"
REPOSITORY = "host-org/random-challenge"
GIT_ID = [
    "-c", "user.name=bench",
    "-c", "user.email=bench@example.invalid",
    "-c", "commit.gpgsign=false",
]  # fmt: skip


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``cwd`` with the benchmark's identity (and ``env``, for the hooks it runs);
    its stdout (raises on failure)."""
    proc = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    return proc.stdout


def make_repo(base: Path, prepare: Callable[[Path], None] | None = None, *,
              repository: str = REPOSITORY) -> Path:
    """A writable copy of the test challenge (tests/data/challenge) at ``base/work`` as a git repository on
    branch ``challenge`` with one commit, and a bare ``origin`` at
    ``base/remotes/<repository>.git`` (so its identity is ``repository``, by default
    :data:`REPOSITORY`); nothing pushed.  ``prepare`` may change the copy before the commit."""
    repo = base / "work"
    shutil.copytree(FIXTURE, repo)
    for path in [repo, *repo.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if prepare is not None:
        prepare(repo)
    bare = base / "remotes" / f"{repository}.git"
    bare.parent.mkdir(parents=True)
    git(base, "init", "--bare", "-q", str(bare))
    git(repo, "init", "-q", "-b", "challenge")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial challenge")
    git(repo, "remote", "add", "origin", str(bare))
    return repo
