"""Bounded parsing (issue 14): a YAML bomb and deep nesting are refused with one line and exit 1
by every command (an alias that contains itself by every command but validate), under a memory
and CPU cap; a crash in the pre-commit hook stops the commit.  Real git, the CLI in a subprocess, the sandbox over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit_all, git

from evalai_mirror import yamlload

VENV_BIN = str(Path(sys.executable).parent)
MEMORY_CAP = 1 << 30  # 1 GiB of address space: expanding the bomb needs tens of GiB
CPU_CAP = 10  # seconds; a refusal takes a fraction of one

BOMB = "bomb_a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"bomb_{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP_BLOCK = "deep:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(5000))
DEEP_FLOW = "deep: " + "[" * 50_000 + "]" * 50_000 + "\n"
SELF_ALIAS = "loop: &loop [1, *loop]\n"


def _capped() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_CAP, CPU_CAP))


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess under the memory and CPU caps."""
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "evalai_mirror", *args], cwd=repo, env=env, capture_output=True,
        text=True, check=False, timeout=60, preexec_fn=_capped,
    )


def append_config(repo: Path, text: str) -> None:
    config = repo / "challenge_config.yaml"
    config.write_text(config.read_text() + "\n" + text)


def test_the_bomb_is_refused_without_expanding_it() -> None:
    assert len(BOMB) < 500
    with pytest.raises(yamlload.YamlLimitError) as caught:
        yamlload.load("title: x\n" + BOMB)
    assert "aliases (*name) expand to" in caught.value.server_message
    assert caught.value.line == 7  # bomb_f, 9**6 values: the first past the limit


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (DEEP_BLOCK, "nested more than 200 levels deep"),
        (DEEP_FLOW, "nested more than 200 levels deep"),
        ("k:\n" + "- " * 300 + "x\n", "nested more than 200"),
    ],
    ids=["5000-level block", "50000-level flow list", "300-level list"],
)
def test_deep_or_endless_yaml_is_one_message(text: str, words: str) -> None:
    with pytest.raises(yamlload.YamlLimitError) as caught:
        yamlload.load(text)
    assert words in caught.value.server_message
    assert "\n" not in caught.value.server_message


def test_ordinary_aliases_and_large_plain_files_still_load() -> None:
    assert yamlload.load("a: &a [1, 2]\nb: [*a, *a]\n").data == {"a": [1, 2], "b": [[1, 2]] * 2}
    big = "items:\n" + "".join(f"  - item {i}\n" for i in range(150_000))
    assert len(yamlload.load(big).data["items"]) == 150_000


@pytest.mark.slow
@pytest.mark.parametrize(
    "hostile", [BOMB, DEEP_BLOCK, DEEP_FLOW, SELF_ALIAS], ids=["bomb", "block", "flow", "alias"]
)
def test_every_command_refuses_a_hostile_config_under_a_memory_cap(
    hostile: str, challenge_repo: Path, sandbox_env: object
) -> None:
    repo = challenge_repo
    pushed = cli(repo, "push")
    assert pushed.returncode == 0, pushed.stderr
    append_config(repo, hostile)
    commit_all(repo, "a hostile config")
    for command in ("validate", "push", "status", "pull", "diff", "watch --once"):
        proc = cli(repo, *command.split())
        output = proc.stdout + proc.stderr
        if hostile is SELF_ALIAS and command == "validate":
            assert proc.returncode == 0, output  # EvalAI's safe_load builds a recursive list
            continue
        assert proc.returncode == 1, (command, output)
        assert "Traceback" not in output and "crashed" not in output, (command, output)
        assert "RecursionError" not in output and "MemoryError" not in output, (command, output)
        assert "challenge_config.yaml" in output, (command, output)
        if command != "validate":
            assert len(proc.stderr.strip().splitlines()) == 1, (command, output)
        else:
            # the limit is ours, not EvalAI's verdict: the summary does not blame EvalAI
            assert "will not read this configuration (a limit of its own)" in output, output
            assert "EvalAI would refuse" not in output, output


@pytest.mark.slow
def test_the_pre_commit_hook_stops_a_bomb_and_a_crash(challenge_repo: Path, tmp_path: Path) -> None:
    repo = challenge_repo
    assert cli(repo, "install-hooks", "--hook", "pre-commit").returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    append_config(repo, BOMB)
    git(repo, "add", "-A")
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    refused = subprocess.run(["git", "commit", "-q", "-m", "bomb"], cwd=repo, env=env,
                             capture_output=True, text=True, check=False, preexec_fn=_capped)
    assert refused.returncode != 0 and "aliases (*name) expand" in refused.stderr
    assert git(repo, "rev-parse", "HEAD") == head

    # an evalai-mirror that crashes (exit 3) must not let the commit through either: the hook
    # runs the Python that installed it, here one whose evalai-mirror always crashes
    fake = tmp_path / "crashing-python"
    fake.write_text("#!/bin/sh\necho 'error: evalai-mirror crashed' >&2\nexit 3\n")
    fake.chmod(0o755)
    hook = repo / ".git" / "hooks" / "pre-commit"
    lines = hook.read_text().splitlines(keepends=True)
    hook.write_text("".join(f"INSTALL_PYTHON='{fake}'\n" if line.startswith("INSTALL_PYTHON=")
                            else line for line in lines))
    crashed = subprocess.run(["git", "commit", "-q", "-m", "crash"], cwd=repo, env=env,
                             capture_output=True, text=True, check=False)
    assert crashed.returncode != 0, crashed.stderr
    assert "so the commit was stopped" in crashed.stderr
    assert git(repo, "rev-parse", "HEAD") == head
