"""The plain git hooks: packaging, install/uninstall/chain, and real git running them."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, RunCli, git

from evalai_mirror import hooks
from evalai_mirror.errors import MirrorError
from evalai_mirror.git import GitRepo

VENV_BIN = str(Path(sys.executable).parent)
HAS_VALIDATE = importlib.util.find_spec("evalai_mirror.commands.validate") is not None
MISSING_WARNING = "evalai-mirror is not installed"


def _env(tool: bool = True, tmp: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment git runs in: evalai-mirror on PATH, or a PATH with git alone."""
    env = dict(os.environ, **extra)
    if tool:
        env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    else:
        assert tmp is not None
        bare_path = tmp / "bin-git-only"
        bare_path.mkdir(exist_ok=True)
        git_exe = shutil.which("git")
        assert git_exe
        if not (bare_path / "git").exists():
            (bare_path / "git").symlink_to(git_exe)
        env["PATH"] = str(bare_path)
    return env


def _git(cwd: Path, *args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )


def _foreign(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _edit(repo: Path, text: str) -> None:
    (repo / "templates" / "description.html").write_text(text)
    git(repo, "add", "templates/description.html")


# -- the scripts ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", hooks.ALL)
def test_packaged_scripts_match_hooks_folder(name: str) -> None:
    source = PROJECT_ROOT / "hooks" / name
    assert hooks.script(name) == source.read_bytes()
    assert source.stat().st_mode & 0o111, f"hooks/{name} must be executable"
    text = source.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert hooks.MARKER in text.splitlines()[:3]
    subprocess.run(["sh", "-n", str(source)], check=True)


def test_unknown_hook_name(challenge_repo: Path) -> None:
    with pytest.raises(MirrorError, match="unknown hook 'pre-rebase'"):
        hooks.install(GitRepo.open(challenge_repo), hooks=["pre-rebase"])


# -- install / uninstall ----------------------------------------------------------------------


def test_install_status_and_uninstall(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    folder = challenge_repo / ".git" / "hooks"
    assert hooks.installed(repo) == dict.fromkeys(hooks.ALL, "missing")
    assert hooks.install(repo) == list(hooks.ALL)
    for name in hooks.ALL:
        assert (folder / name).read_bytes() == hooks.script(name)
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o755
    assert hooks.installed(repo) == dict.fromkeys(hooks.ALL, "evalai-mirror")
    assert hooks.install(repo, hooks=["pre-push"]) == ["pre-push"]  # idempotent update
    assert hooks.uninstall(repo) == list(hooks.ALL)
    assert hooks.installed(repo) == dict.fromkeys(hooks.ALL, "missing")
    assert hooks.uninstall(repo) == []


def test_refuses_a_foreign_hook_and_changes_nothing(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    folder = challenge_repo / ".git" / "hooks"
    mine = _foreign(folder / "pre-push", "exit 0")
    with pytest.raises(MirrorError) as info:
        hooks.install(repo)
    message = str(info.value)
    assert str(mine) in message and "--chain" in message
    assert mine.read_text() == "#!/bin/sh\nexit 0\n"
    assert not (folder / "pre-commit").exists()  # all or nothing
    assert hooks.installed(repo)["pre-push"] == "foreign"
    # uninstall never removes what is not ours
    assert hooks.uninstall(repo) == []
    assert mine.exists()


def test_pre_commit_framework_hook_is_recognised(challenge_repo: Path) -> None:
    subprocess.run(
        [VENV_BIN + "/pre-commit", "install", "-t", "pre-commit"],
        cwd=challenge_repo,
        check=True,
        capture_output=True,
    )
    repo = GitRepo.open(challenge_repo)
    assert hooks.installed(repo)["pre-commit"] == "pre-commit framework"
    with pytest.raises(MirrorError, match="pre-commit framework hook"):
        hooks.install(repo, hooks=["pre-commit"])


def test_chain_moves_the_foreign_hook_and_uninstall_restores_it(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    folder = challenge_repo / ".git" / "hooks"
    original = _foreign(folder / "post-commit", "echo theirs").read_bytes()
    hooks.install(repo, chain=True)
    assert (folder / "post-commit.local").read_bytes() == original
    assert hooks.installed(repo)["post-commit"] == "evalai-mirror"
    # a second chain has nowhere to put another foreign hook
    _foreign(folder / "pre-push", "exit 0")
    _foreign(folder / "pre-push.local", "exit 0")
    with pytest.raises(MirrorError, match=r"pre-push\.local exists already"):
        hooks.install(repo, chain=True, hooks=["pre-push"])
    assert hooks.uninstall(repo) == ["pre-commit", "post-commit"]
    assert (folder / "post-commit").read_bytes() == original
    assert not (folder / "post-commit.local").exists()


def test_core_hooks_path(challenge_repo: Path, tmp_path: Path) -> None:
    git(challenge_repo, "config", "core.hooksPath", "ci/hooks")
    repo = GitRepo.open(challenge_repo)
    hooks.install(repo, hooks=["post-commit"])
    installed = challenge_repo / "ci" / "hooks" / "post-commit"
    assert installed.read_bytes() == hooks.script("post-commit")
    assert not (challenge_repo / ".git" / "hooks" / "post-commit").exists()
    # git runs it from there: with no evalai-mirror around, it warns once and git goes on
    _edit(challenge_repo, "<p>x</p>")
    proc = _git(challenge_repo, "commit", "-m", "x", env=_env(tool=False, tmp=tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(MISSING_WARNING) == 1


# -- real git running the installed hooks -------------------------------------------------------


def test_missing_tool_never_blocks_git(challenge_repo: Path, tmp_path: Path) -> None:
    hooks.install(GitRepo.open(challenge_repo))
    env = _env(tool=False, tmp=tmp_path)
    _edit(challenge_repo, "<p>edited</p>")
    commit = _git(challenge_repo, "commit", "-m", "edit", env=env)
    assert commit.returncode == 0, commit.stderr
    # pre-commit and post-commit each warn once
    assert commit.stderr.count(MISSING_WARNING) == 2
    assert "pre-commit hook did nothing" in commit.stderr
    push = _git(challenge_repo, "push", "origin", "challenge", env=env)
    assert push.returncode == 0, push.stderr
    assert push.stderr.count(MISSING_WARNING) == 1
    remote = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    assert git(remote, "rev-parse", "challenge") == git(challenge_repo, "rev-parse", "HEAD")


def test_chained_hook_runs_first_and_its_failure_stops_git(challenge_repo: Path, tmp_path: Path) -> None:
    folder = challenge_repo / ".git" / "hooks"
    record = tmp_path / "ran.txt"
    _foreign(folder / "pre-commit", f'echo local >> "{record}"\n[ ! -f "{tmp_path}/fail" ]')
    hooks.install(GitRepo.open(challenge_repo), chain=True)
    env = _env(tool=False, tmp=tmp_path)
    _edit(challenge_repo, "<p>one</p>")
    assert _git(challenge_repo, "commit", "-m", "one", env=env).returncode == 0
    assert record.read_text() == "local\n"
    (tmp_path / "fail").touch()
    _edit(challenge_repo, "<p>two</p>")
    proc = _git(challenge_repo, "commit", "-m", "two", env=env)
    assert proc.returncode != 0
    assert MISSING_WARNING not in proc.stderr  # stopped before evalai-mirror was looked for
    assert record.read_text() == "local\nlocal\n"
    assert git(challenge_repo, "log", "-1", "--format=%s").strip() == "one"


def test_pre_push_passes_refs_on_stdin_to_chain_and_cli(challenge_repo: Path, tmp_path: Path) -> None:
    folder = challenge_repo / ".git" / "hooks"
    seen = tmp_path / "stdin.txt"
    _foreign(folder / "pre-push", f'echo "$1 $2" > "{seen}"\ncat >> "{seen}"')
    hooks.install(GitRepo.open(challenge_repo), chain=True, hooks=["pre-push"])
    _edit(challenge_repo, "<p>pushed</p>")
    git(challenge_repo, "commit", "-qm", "pushed", "--no-verify")
    sha = git(challenge_repo, "rev-parse", "HEAD").strip()
    old = git(challenge_repo, "rev-parse", "origin/challenge").strip()
    bare = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    env = _env(tool=True)
    proc = _git(challenge_repo, "push", "origin", "challenge", env=env)
    refs = f"refs/heads/challenge {sha} refs/heads/challenge {old}\n"
    assert seen.read_text() == f"origin {bare}\n{refs}"
    assert MISSING_WARNING not in proc.stderr  # the real CLI was found and run
    # the hook passes on the CLI's verdict: run the CLI as the hook does and compare
    direct = subprocess.run(
        [VENV_BIN + "/evalai-mirror", "push", "--hook", "pre-push", "origin", str(bare)],
        cwd=challenge_repo,
        env=env,
        input=refs,
        capture_output=True,
        text=True,
        check=False,
    )
    expected_ok = direct.returncode in (0, 3)
    assert (proc.returncode == 0) is expected_ok, (proc.stderr, direct.stderr)
    pushed = git(bare, "rev-parse", "challenge").strip()
    assert (pushed == sha) is expected_ok


def test_skip_env_keeps_our_hooks_quiet(challenge_repo: Path, tmp_path: Path) -> None:
    hooks.install(GitRepo.open(challenge_repo), hooks=["post-commit"])
    env = _env(tool=False, tmp=tmp_path, EVALAI_MIRROR_SKIP_HOOKS="1")
    _edit(challenge_repo, "<p>pulled</p>")
    proc = _git(challenge_repo, "commit", "-m", "from a pull", env=env)
    assert proc.returncode == 0
    assert MISSING_WARNING not in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAS_VALIDATE, reason="the validate command is not written yet")
def test_pre_commit_hook_runs_validate(challenge_repo: Path) -> None:
    hooks.install(GitRepo.open(challenge_repo), hooks=["pre-commit"])
    env = _env(tool=True)
    config = challenge_repo / "challenge_config.yaml"
    good = config.read_text()
    config.write_text(good.replace("description: templates/description.html", "description: templates/gone.html"))
    git(challenge_repo, "add", "challenge_config.yaml")
    proc = _git(challenge_repo, "commit", "-m", "broken", env=env)
    assert proc.returncode != 0
    assert "gone.html" in proc.stderr + proc.stdout
    assert git(challenge_repo, "log", "-1", "--format=%s").strip() == "Initial challenge"
    config.write_text(good.replace("title: ", "title: Renamed ", 1))
    git(challenge_repo, "add", "challenge_config.yaml")
    proc = _git(challenge_repo, "commit", "-m", "fine", env=env)
    assert proc.returncode == 0, proc.stderr
    assert git(challenge_repo, "log", "-1", "--format=%s").strip() == "fine"


# -- the command ---------------------------------------------------------------------------------


def test_install_hooks_command(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = challenge_repo / ".git" / "hooks"
    assert run_cli(["install-hooks", "--hook", "pre-commit"], cwd=challenge_repo) == 0
    assert f"installed {folder / 'pre-commit'}" in capsys.readouterr().out
    assert not (folder / "pre-push").exists()

    _foreign(folder / "pre-push", "exit 0")
    assert run_cli(["install-hooks"], cwd=challenge_repo) == 1
    err = capsys.readouterr().err
    assert "pre-push" in err and "--chain" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

    assert run_cli(["install-hooks", "--chain"], cwd=challenge_repo) == 0
    out = capsys.readouterr().out
    assert "pre-push.local" in out and f"updated {folder / 'pre-commit'}" in out
    assert run_cli(["install-hooks", "--uninstall"], cwd=challenge_repo) == 0
    out = capsys.readouterr().out
    assert out.count("removed ") == 3
    assert (folder / "pre-push").read_text() == "#!/bin/sh\nexit 0\n"
    assert run_cli(["install-hooks", "--uninstall"], cwd=challenge_repo) == 0
    out = capsys.readouterr().out
    assert "no evalai-mirror hooks" in out and "kept" in out


def test_install_hooks_outside_a_repository(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").mkdir()
    assert run_cli(["install-hooks"], cwd=tmp_path / "plain") == 1
    assert "not inside a git repository" in capsys.readouterr().err
