"""`evalai-mirror diff`: unified diffs for HTML fields, `old -> new` for the rest, against the
sandbox over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli


def test_no_differences_exit_zero(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    assert run_cli(["diff"], cwd=repo) == 0
    assert capsys.readouterr().out == ""
    assert run_cli(["diff", "--json"], cwd=repo) == 0
    assert json.loads(capsys.readouterr().out) == {"fields": [], "structure_changes": []}


def test_html_field_as_unified_diff(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    page = repo / "templates" / "description.html"
    original = page.read_text()
    first = next(line for line in original.splitlines() if line.strip())
    page.write_text(original.replace(first, "<p>Rewritten here</p>", 1))
    assert run_cli(["diff"], cwd=repo) == 2  # differences: as status exits
    out = capsys.readouterr().out
    assert "--- evalai/description" in out
    assert "+++ local/templates/description.html" in out
    assert "+<p>Rewritten here</p>" in out
    assert f"-{first.strip()}" in out
    assert "@@" in out and "changed here" in out
    assert run_cli(["diff", "--json"], cwd=repo) == 2
    data = json.loads(capsys.readouterr().out)
    (field,) = data["fields"]
    assert field["key"] == "description" and field["state"] == "changed here"  # as status --json
    assert field["where"] == "templates/description.html"
    assert "<p>Rewritten here</p>" in field["here"] and first in field["on_evalai"]
    assert "+<p>Rewritten here</p>" in field["diff"]


def test_date_changed_on_evalai_old_to_new(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    sandbox_env.edit_phase(pk, "test", end_date="2099-06-30T12:00:00Z")
    assert run_cli(["diff", "phases.test"], cwd=repo) == 2
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines == [
        'phases.test.end_date: "2099-06-30T12:00:00Z" -> "2099-05-24T23:59:59Z"  '
        f"(changed on EvalAI, challenge_config.yaml:{_line_of(repo, 'end_date: 2099-05-24')})"
    ]
    # a filter that matches other fields only shows nothing
    assert run_cli(["diff", "title", "phases.dev"], cwd=repo) == 0
    assert capsys.readouterr().out == ""


def _line_of(repo: Path, needle: str) -> int:
    text = (repo / "challenge_config.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(text, start=1) if needle in line)


def test_unknown_field_is_a_usage_error(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    assert run_cli(["diff", "phases.nope"], cwd=repo) == 1
    err = capsys.readouterr().err
    assert "no field 'phases.nope'" in err and "evalai-mirror status" in err
    assert "Traceback" not in err


def test_unreachable_evalai_is_an_error(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    sandbox_env.stop()
    assert run_cli(["diff"], cwd=repo) == 1
    assert "could not read EvalAI" in capsys.readouterr().err

