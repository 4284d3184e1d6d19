"""The demo is the README's main command: run it for real, as a host would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def readme_transcript() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```text\nsandbox ") + len("```text\n")
    return readme[start:readme.index("```", start)]


def masked(text: str) -> list[str]:
    """The demo's lines without what differs from run to run: the port, the folder, commit
    shas and byte counts (requests, fields and words stay)."""
    import re

    out = []
    for line in text.splitlines():
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
        line = re.sub(r"at /\S+/demo-challenge", "at DIR/demo-challenge", line)
        line = re.sub(r"\b[0-9a-f]{7}\b", "SHA", line)
        line = re.sub(r"\d+(\.\d+)? (bytes|B|KiB|MiB) (sent|received)", r"N \3", line)
        out.append(line.rstrip())
    return out


@pytest.mark.slow
def test_demo_runs_the_whole_two_way_sync(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "evalai_mirror", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in out + proc.stderr
    steps = [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")]
    assert steps == [
        "sandbox", "init", "hooks", "git", "EvalAI", "pull", "status", "git", "local", "git",
        "status",
    ]
    assert "wrote title into challenge_config.yaml" in out
    assert "sent the new description to EvalAI with one PATCH" in out
    assert "both sides agree" in out.splitlines()[-1]
    # the README shows this very output: the same steps, requests and field counts
    assert masked(out) == masked(readme_transcript())
    # the repository is left where --dir said, with the mirror commit in its history
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=tmp_path / "demo" / "demo-challenge",
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert log == [
        "Describe when submissions close",
        "evalai_bot: Update title",
        "Create the challenge from the evalai-mirror template",
    ]
    # the sandbox keeps its state (and its token) under --dir: that token is never printed
    from evalai_mirror.sandbox import SandboxServer

    sandbox = SandboxServer(tmp_path / "demo" / ".sandbox-data")
    try:
        token = sandbox.token
    finally:
        sandbox.stop()
    assert len(token) > 8 and token not in out + proc.stderr


def test_demo_refuses_a_non_empty_dir(tmp_path: Path, run_cli: object) -> None:
    target = tmp_path / "busy"
    (target / "demo-challenge").mkdir(parents=True)
    (target / "demo-challenge" / "file.txt").write_text("mine\n")
    assert run_cli(["demo", "--dir", str(target)]) == 1  # type: ignore[operator]
    assert (target / "demo-challenge" / "file.txt").read_text() == "mine\n"
