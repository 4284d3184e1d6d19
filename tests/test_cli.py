"""The command-line edge: bad input is one line and exit 1, a crash is exit 3 and a log file
that never holds a token."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RunCli

from evalai_mirror import cli


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_dash_c_to_a_folder_that_is_not_there_is_bad_input_not_a_crash(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str], kind: str,
    isolated_env: Path,
) -> None:
    target = tmp_path / "no-such-folder"
    if kind == "file":
        target = tmp_path / "a-file"
        target.write_text("not a folder\n")
    assert run_cli(["-C", str(target), "config"]) == 1
    err = capsys.readouterr().err
    assert "crashed" not in err
    assert str(target) in err and err.count("\n") == 1
    assert not (isolated_env / "evalai-mirror.log").exists()


def test_crash_log_never_holds_a_token_given_on_the_command_line(isolated_env: Path) -> None:
    token = "c1d2e3f4a5b6c7d8e9f0-crash-log-token"
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        path = cli._report_crash(exc, ["push", "--token", token, f"--token={token}"])
    text = Path(path).read_text(encoding="utf-8")
    assert "RuntimeError: boom" in text and "'push'" in text
    assert token not in text


@pytest.mark.parametrize("value", ["123", "", "wide", "0"])
def test_the_terminal_width_is_what_shutil_says(monkeypatch: pytest.MonkeyPatch,
                                               value: str) -> None:
    import shutil

    from evalai_mirror import ui

    monkeypatch.setenv("COLUMNS", value)
    assert ui.columns() == shutil.get_terminal_size((80, 24)).columns


def test_parsing_a_hook_command_line_loads_no_shutil() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from evalai_mirror import cli\n"
        "args = cli.build_parser(['push', '--hook', 'pre-push', 'origin', 'u']).parse_args("
        "['push', '--hook', 'pre-push', 'origin', 'u'])\n"
        "assert args.hook == 'pre-push'\n"
        "print('shutil' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
