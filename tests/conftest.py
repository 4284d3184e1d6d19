"""Shared test fixtures: an isolated home, real git repositories, this repo as a hook source.

Nothing here mocks git or HTTP: repositories are real, made in temporary folders, with a bare
repository as ``origin``; the EvalAI side is the sandbox server over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA = PROJECT_ROOT / "tests" / "data"
FIXTURE = DATA / "challenge"
"""evalai-mirror's own test challenge (see tests/data/README.md)."""
API_SAMPLES = DATA / "api"
"""Answers recorded from a real EvalAI server (see tests/data/README.md)."""

_ENV_PREFIXES = ("EVALAI_", "GIT_", "PRE_COMMIT", "GITHUB_")

RunCli = Callable[..., int]
"""The type of the ``run_cli`` fixture."""
REPOSITORY = "host-org/random-challenge"
"""The repository identity of ``challenge_repo`` (from its origin's path)."""
ZERO = "0" * 40
"""git's all-zero object name (a ref that does not exist, in pre-push lines)."""


def git(cwd: Path | str, *args: str, check: bool = True) -> str:
    """Run real git in ``cwd`` and return its stdout."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stdout}{proc.stderr}")
    return proc.stdout


@pytest.fixture(scope="session")
def _session_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("session")
    dirs = {"pre_commit_home": base / "pre-commit-home"}
    dirs["pre_commit_home"].mkdir()
    return dirs


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _session_dirs: dict[str, Path]
) -> Path:
    """Every test gets its own HOME and git identity; the real home is never touched."""
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) or key in ("AUTH_TOKEN", "NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(key, raising=False)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Host\n\temail = host@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        "[protocol \"file\"]\n\tallow = always\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(_session_dirs["pre_commit_home"]))
    monkeypatch.setenv("EVALAI_MIRROR_LOG", str(home / "evalai-mirror.log"))
    # As on a CI runner: a push hook shares the base before it returns, not from a process
    # left running after the test (tests of that background share unset it).
    monkeypatch.setenv("CI", "true")
    return home


def copy_fixture(dest: Path) -> Path:
    """A writable copy of the EvalAI-Starters fixture at ``dest``."""
    shutil.copytree(FIXTURE, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture, not a git repository."""
    return copy_fixture(tmp_path / "challenge")


@pytest.fixture
def challenge_repo(tmp_path: Path) -> Path:
    """The fixture as a git repository on branch ``challenge``, one commit, with a bare
    ``origin`` at ``<tmp>/remotes/host-org/random-challenge.git`` (so the repository identity
    is ``host-org/random-challenge``), already pushed."""
    repo = copy_fixture(tmp_path / "work")
    bare = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "init", "--bare", "-q", str(bare))
    git(repo, "init", "-q", "-b", "challenge")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial challenge")
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "challenge")
    return repo


def _project_files() -> list[str]:
    out = git(PROJECT_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [p for p in out.split("\0") if p and (PROJECT_ROOT / p).is_file()]


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This project's working tree (committed or not) as a git repository pre-commit can
    install hooks from, as ``pre-commit try-repo`` does: returns (path, commit sha)."""
    dest = tmp_path_factory.mktemp("hook-repo")
    for rel in _project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, target)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, capture_output=True, text=True, check=True
    ).stdout.strip()
    return dest, sha


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunCli]:
    """Call the CLI in-process: ``run_cli(["validate", path], cwd=...)`` -> exit code."""
    from evalai_mirror.cli import main

    def _run(argv: list[str], cwd: Path | None = None) -> int:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return main(argv)

    yield _run


def status_json(
    run_cli: RunCli, repo: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, Any]:
    """Run ``evalai-mirror status --json`` in ``repo``: (exit code, the parsed report)."""
    import json

    code = run_cli(["status", "--json"], cwd=repo)
    return code, json.loads(capsys.readouterr().out)


# -- the EvalAI sandbox (evalai_mirror.sandbox) ------------------------------------------------
def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def build_challenge_zip(root: Path, *, drop: tuple[str, ...] = (), config: str | None = None) -> bytes:
    """The EvalAI-Starters zip of the challenge at ``root``, built with zipfile: the config and
    the files it names at the root, ``evaluation_script.zip`` inside; ``drop`` leaves paths out
    and ``config`` replaces challenge_config.yaml's text."""
    import io
    import zipfile

    skip = ("github/", "evaluation_script/", ".git/")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        script = io.BytesIO()
        with zipfile.ZipFile(script, "w", zipfile.ZIP_DEFLATED) as inner:
            for path in sorted((root / "evaluation_script").rglob("*")):
                if path.is_file():
                    inner.write(path, path.relative_to(root / "evaluation_script").as_posix())
        if "evaluation_script.zip" not in drop:
            archive.writestr("evaluation_script.zip", script.getvalue())
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or rel.startswith(skip) or rel in drop or rel == "README.md":
                continue
            if rel == "challenge_config.yaml" and config is not None:
                archive.writestr(rel, config)
            else:
                archive.write(path, rel)
    return buf.getvalue()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[object]:
    """A fresh SandboxServer on a free 127.0.0.1 port, state in a tmp folder, no throttling
    (a test that wants it calls ``sandbox.set_throttle(N)``)."""
    from evalai_mirror.sandbox import SandboxServer

    server = SandboxServer(tmp_path / "sandbox-data", throttle_per_minute=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox_env(sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The sandbox, with EVALAI_HOST_URL / EVALAI_AUTH_TOKEN / EVALAI_TEAM_PK set for the CLI."""
    for key, value in sandbox.env().items():  # type: ignore[attr-defined]
        monkeypatch.setenv(key, value)
    return sandbox


@pytest.fixture
def sandbox_challenge(sandbox: object) -> tuple[object, int]:
    """The sandbox with the fixture challenge created through the real zip endpoint, as
    ``host-org/random-challenge``: (sandbox, challenge pk)."""
    import requests

    server: Any = sandbox
    response = requests.post(
        f"{server.url}/api/challenges/challenge/challenge_host_team/{server.team_pk}"
        "/create_or_update_github_challenge/",
        headers={"Authorization": f"Bearer {server.token}"},
        files={"zip_configuration": ("challenge.zip", build_challenge_zip(FIXTURE))},
        data={"GITHUB_REPOSITORY": REPOSITORY},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    pk = server.challenge_pk(REPOSITORY)
    assert pk is not None
    server.clear_requests()
    return sandbox, int(pk)


def sync_once(kind: str, **kw: Any) -> Any:
    """One ``syncpush.push`` (``kind == "push"``) or ``syncpull.pull`` with ``kw``, in a context
    opened for the current directory and closed again; the report."""
    from evalai_mirror import sync, syncpull, syncpush

    ctx = sync.open_context(None)
    try:
        return syncpush.push(ctx, **kw) if kind == "push" else syncpull.pull(ctx, **kw)
    finally:
        ctx.close()


def first_push(repo: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Create the challenge on the sandbox from ``repo``'s HEAD with the sync engine (cwd
    becomes ``repo``); the challenge pk."""
    monkeypatch.chdir(repo)
    report = sync_once("push")
    assert report.action == "created" and report.pk is not None
    return int(report.pk)


@pytest.fixture
def pushed_repo(
    challenge_repo: Path, sandbox_env: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, int]:
    """``challenge_repo`` pushed once to the sandbox (``sandbox_env`` set, cwd in the repo):
    (repo, challenge pk); every field is in sync."""
    return challenge_repo, first_push(challenge_repo, monkeypatch)


def set_title(repo: Path, title: str) -> None:
    """Edit the ``title:`` line of ``repo``'s challenge_config.yaml (not committed)."""
    config = repo / "challenge_config.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text(
        "".join(f"title: {title}\n" if line.startswith("title:") else line for line in lines)
    )


def editor_save(path: Path, text: str) -> None:
    """Save as many editors do: a new file renamed over the old one."""
    tmp = path.with_name(path.name + "~save")
    tmp.write_text(text)
    tmp.replace(path)


def set_dev_limit(repo: Path, limit: int) -> None:
    """Set the first phase's (dev) max_submissions_per_day in challenge_config.yaml, saved as
    many editors save (not committed)."""
    config = repo / "challenge_config.yaml"
    head, sep, tail = config.read_text().partition("max_submissions_per_day: ")
    assert sep
    editor_save(config, head + sep + str(limit) + tail[tail.index("\n"):])


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in ``repo``'s working copy without running hooks; the new HEAD."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def changes(sandbox: Any) -> list[tuple[str, str]]:
    """The requests that could change EvalAI (anything but GET), as (method, path)."""
    return [(r.method, r.path) for r in sandbox.requests() if r.method != "GET"]


def hold_shared_refs(bare: Path) -> Callable[[], None]:
    """Make the bare repository ``bare`` hold every push of ``refs/evalai-mirror/*`` (its
    pre-receive hook waits) until the function returned is called: a test sees that nothing
    it ran waited for that push."""
    release = bare / "release-shared-refs"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "while read -r old new ref; do\n"
        '  case "$ref" in refs/evalai-mirror/*)\n'
        f"    while [ ! -f '{release}' ]; do sleep 0.05; done;;\n"
        "  esac\n"
        "done\n"
    )
    hook.chmod(0o755)
    return release.touch


def state_of(repo: Path, branch: str = "challenge") -> Any:
    """The sync state recorded for ``branch`` of ``repo`` (None if there is none)."""
    from evalai_mirror.state import StateStore

    return StateStore(repo / ".git").load(branch)
