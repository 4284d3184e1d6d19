"""`evalai-mirror sandbox` as a host runs it: a real process, stopped with Ctrl-C or kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

CLI = [sys.executable, "-m", "evalai_mirror"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}


def _as_a_foreground_job() -> None:
    """Ctrl-C as a terminal delivers it: a test run started as a background job (``cmd &``)
    passes SIGINT on ignored, and the sandbox would then rightly ignore it too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_sandbox_serves_until_ctrl_c_and_keeps_state(tmp_path: Path) -> None:
    data = tmp_path / "state"
    proc = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--data", str(data), "--throttle", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        preexec_fn=_as_a_foreground_job,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = proc.stdout.readline()
            assert line, f"the sandbox ended early: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line.strip())
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
        )
        assert set(exports) == {"EVALAI_HOST_URL", "EVALAI_AUTH_TOKEN", "EVALAI_TEAM_PK"}
        assert any("throwaway token" in line for line in lines)
        url, token = exports["EVALAI_HOST_URL"], exports["EVALAI_AUTH_TOKEN"]
        assert url.startswith("http://127.0.0.1:")
        listing = requests.get(
            f"{url}/api/challenges/challenge_host_team/1/challenge",
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        assert listing.status_code == 200 and listing.json()["count"] == 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "sandbox stopped" in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (data / "sandbox.sqlite3").is_file()


@pytest.mark.slow
def test_sandbox_env_works_with_eval_in_a_shell(tmp_path: Path) -> None:
    script = (
        f'eval "$({" ".join(CLI)} sandbox --port 0 --data {tmp_path / "s"} --env 2>/dev/null &)"\n'
        'echo "$EVALAI_HOST_URL $EVALAI_AUTH_TOKEN $EVALAI_TEAM_PK $EVALAI_SANDBOX_PID"\n'
    )
    started = time.monotonic()
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=60, check=True
    ).stdout.split()
    assert time.monotonic() - started < 30  # eval returned while the sandbox kept running
    url, token, team, pid = out
    try:
        response = requests.get(
            f"{url}/api/challenges/challenge_host_team/{team}/challenge",
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        assert response.status_code == 200
    finally:
        os.kill(int(pid), signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the sandbox did not stop on SIGTERM")


def test_port_in_use_is_a_one_line_error(
    sandbox: object, run_cli: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    port = sandbox.port  # type: ignore[attr-defined]
    data = str(tmp_path / "unused")
    assert run_cli(["sandbox", "--port", str(port), "--data", data]) == 1  # type: ignore[operator]
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err
    assert "Traceback" not in err
