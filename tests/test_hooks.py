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
    assert text.count(hooks.PYTHON_LINE.decode()) == 1
    subprocess.run(["sh", "-n", str(source)], check=True)


def test_installed_hooks_record_the_python_that_installed_them(tmp_path: Path) -> None:
    odd = "/opt/my env/bin/python3'x"
    text = hooks.render("pre-push", odd)
    path = tmp_path / "pre-push"
    path.write_bytes(text)
    assert hooks.installed_python(path) == odd
    subprocess.run(["sh", "-n", str(path)], check=True)
    assert hooks.render("pre-push", None) == hooks.script("pre-push")
    path.write_bytes(hooks.script("pre-push"))
    assert hooks.installed_python(path) is None


def test_unknown_hook_name(challenge_repo: Path) -> None:
    with pytest.raises(MirrorError, match="unknown hook 'pre-rebase'"):
        hooks.install(GitRepo.open(challenge_repo), hooks=["pre-rebase"])


# -- install / uninstall ----------------------------------------------------------------------


def test_install_status_and_uninstall(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    folder = challenge_repo / ".git" / "hooks"
    assert hooks.installed(repo) == dict.fromkeys(hooks.ALL, "missing")
    # by default: validate at commit, send at git push; post-commit only when asked for
    assert hooks.install(repo) == ["pre-commit", "pre-push"]
    assert hooks.installed(repo)["post-commit"] == "missing"
    assert hooks.install(repo, hooks=["post-commit"]) == ["post-commit"]
    for name in hooks.ALL:
        assert (folder / name).read_bytes() == hooks.render(name, sys.executable)
        assert hooks.installed_python(folder / name) == sys.executable
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
    hooks.install(repo, chain=True, hooks=hooks.ALL)
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
    hooks.install(repo, hooks=["post-commit"], python=None)
    installed = challenge_repo / "ci" / "hooks" / "post-commit"
    assert installed.read_bytes() == hooks.script("post-commit")
    assert not (challenge_repo / ".git" / "hooks" / "post-commit").exists()
    # git runs it from there: with no evalai-mirror around (no recorded Python, nothing on
    # PATH), it warns once and git goes on
    _edit(challenge_repo, "<p>x</p>")
    proc = _git(challenge_repo, "commit", "-m", "x", env=_env(tool=False, tmp=tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(MISSING_WARNING) == 1


# -- real git running the installed hooks -------------------------------------------------------


def test_missing_tool_never_blocks_git(challenge_repo: Path, tmp_path: Path) -> None:
    # the Python that installed the hooks is gone, and PATH has no evalai-mirror either
    hooks.install(GitRepo.open(challenge_repo), hooks=hooks.ALL, python=str(tmp_path / "gone" / "python"))
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


def _break_config(repo: Path) -> str:
    config = repo / "challenge_config.yaml"
    good = config.read_text()
    config.write_text(good.replace("description: templates/description.html", "description: templates/gone.html"))
    git(repo, "add", "challenge_config.yaml")
    return good


def test_hooks_run_the_recorded_python_without_it_on_path(challenge_repo: Path, tmp_path: Path) -> None:
    """A GUI git client or a shell without the virtual environment: PATH has git alone, and
    the hook still validates (and so refuses a broken config) with the Python that installed it."""
    hooks.install(GitRepo.open(challenge_repo))
    env = _env(tool=False, tmp=tmp_path)
    assert shutil.which("evalai-mirror", path=env["PATH"]) is None
    _break_config(challenge_repo)
    proc = _git(challenge_repo, "commit", "-m", "broken", env=env)
    assert proc.returncode != 0, proc.stderr
    assert "gone.html" in proc.stdout + proc.stderr
    assert MISSING_WARNING not in proc.stderr
    assert git(challenge_repo, "log", "-1", "--format=%s").strip() == "Initial challenge"


@pytest.mark.parametrize("recorded", ["gone", "without-evalai-mirror"])
def test_hooks_fall_back_to_path_when_the_recorded_python_cannot_run_it(
    challenge_repo: Path, tmp_path: Path, recorded: str
) -> None:
    if recorded == "gone":
        python = str(tmp_path / "deleted-venv" / "bin" / "python")
    else:  # a Python that runs, but has no evalai_mirror: the hook's launcher exits 127
        python = str(_fake_python(tmp_path))
    hooks.install(GitRepo.open(challenge_repo), python=python)
    _break_config(challenge_repo)
    proc = _git(challenge_repo, "commit", "-m", "broken", env=_env(tool=True))
    assert proc.returncode != 0, proc.stderr  # evalai-mirror from PATH refused it
    assert "gone.html" in proc.stdout + proc.stderr
    # with neither, the hook warns once and lets git go on
    proc = _git(challenge_repo, "commit", "-m", "broken", env=_env(tool=False, tmp=tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(MISSING_WARNING) == 1


def _fake_python(tmp_path: Path) -> Path:
    """A Python that cannot import evalai_mirror (isolated, with only the standard library)."""
    path = tmp_path / "bare-python"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
    path.chmod(0o755)
    return path


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
    out = capsys.readouterr().out
    assert f"installed {folder / 'pre-commit'}" in out
    assert f"the hooks run evalai-mirror with {sys.executable}" in out
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
    assert out.count("removed ") == 2  # the default pair; post-commit was never asked for
    assert (folder / "pre-push").read_text() == "#!/bin/sh\nexit 0\n"
    assert run_cli(["install-hooks", "--uninstall"], cwd=challenge_repo) == 0
    out = capsys.readouterr().out
    assert "no evalai-mirror hooks" in out and "kept" in out


def test_install_hooks_post_commit_only_on_request(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = challenge_repo / ".git" / "hooks"
    assert run_cli(["install-hooks"], cwd=challenge_repo) == 0
    assert [p.name for p in sorted(folder.iterdir()) if not p.name.endswith(".sample")] == [
        "pre-commit", "pre-push"]
    assert run_cli(["install-hooks", "--post-commit"], cwd=challenge_repo) == 0
    assert f"installed {folder / 'post-commit'}" in capsys.readouterr().out
    assert hooks.installed(GitRepo.open(challenge_repo)) == dict.fromkeys(hooks.ALL, "evalai-mirror")


def test_install_hooks_outside_a_repository(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").mkdir()
    assert run_cli(["install-hooks"], cwd=tmp_path / "plain") == 1
    assert "not inside a git repository" in capsys.readouterr().err
