"""``validate --format github``: each problem as a GitHub Actions annotation on its file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import RunCli, set_title

from evalai_mirror import ghactions


def test_annotations_escape_what_github_would_cut() -> None:
    line = ghactions.command(
        "error", "100% wrong\nsecond line\r", file="a,b:c.yaml", line=3, title="x: y"
    )
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,title=x%3A y::100%25 wrong%0Asecond line"
    assert ghactions.command("warning", "plain") == "::warning::plain"
    assert ghactions.command("error", "m", line=4) == "::error::m"  # a line needs a file


def test_each_problem_is_one_error_line_on_its_file_and_line(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    set_title(fixture_copy, '""')
    assert run_cli(["validate", "--format", "github"], cwd=fixture_copy) == 1
    out = capsys.readouterr().out.splitlines()
    [annotation] = [line for line in out if line.startswith("::")]
    match = re.fullmatch(
        r"::error file=challenge_config\.yaml,line=(\d+),"
        r"title=EvalAI would refuse this configuration::(.*)",
        annotation,
    )
    assert match, annotation
    text = (fixture_copy / "challenge_config.yaml").read_text().splitlines()
    assert text[int(match.group(1)) - 1].startswith("title:")
    assert match.group(2).startswith("Please add the challenge title%0Ahint: ")
    assert out[-1].endswith("1 problem; EvalAI would refuse this configuration.")


def test_paths_are_relative_to_the_checkout(
    tmp_path: Path, fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run from elsewhere, the file is still named from the workspace root, as GitHub needs."""
    set_title(fixture_copy, '""')
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    assert run_cli(["validate", "--format", "github", str(fixture_copy)], cwd=tmp_path / "home") == 1
    [annotation] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("::")]
    assert annotation.startswith("::error file=challenge/challenge_config.yaml,line=")


def test_a_valid_config_prints_no_annotation(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["validate", "--format", "github"], cwd=fixture_copy) == 0
    out = capsys.readouterr().out
    assert "::" not in out and "valid" in out


def test_json_and_github_together_is_a_usage_error(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["validate", "--json", "--format", "github"], cwd=fixture_copy) == 1
    assert "--json and --format github" in capsys.readouterr().err
    assert run_cli(["validate", "--format", "json"], cwd=fixture_copy) == 0
    assert '"valid": true' in capsys.readouterr().out
