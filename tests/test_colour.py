"""Colour only on a terminal or with FORCE_COLOR, never with NO_COLOR: every command that
colours its output, run for real on a pushed repository."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunCli, set_title


def _edit_title(repo: Path) -> None:
    set_title(repo, "Colourful")


def _append_paragraph(repo: Path) -> None:
    page = repo / "templates" / "evaluation_details.html"
    page.write_text(page.read_text() + "\n<p>more</p>\n")


def _nothing(repo: Path) -> None:
    pass


# command, how to give it something to colour, a coloured piece it prints, the same piece plain
CASES = [
    ("status", _edit_title, "\033[", "title"),
    ("doctor", _nothing, "\033[31mFAIL", "FAIL  git hooks"),  # no hooks installed
    ("log", _nothing, "\033[32mpush", "push"),
    ("diff", _append_paragraph, "\033[32m+<p>more</p>", "+<p>more</p>"),
]


@pytest.mark.parametrize(("command", "prepare", "coloured", "plain"), CASES, ids=[c[0] for c in CASES])
def test_colour_only_when_asked_and_never_with_no_color(
    command: str,
    prepare: Callable[[Path], None],
    coloured: str,
    plain: str,
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    prepare(repo)
    run_cli([command], cwd=repo)
    assert "\033[" not in capsys.readouterr().out  # captured output is not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    run_cli([command], cwd=repo)
    assert coloured in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    run_cli([command], cwd=repo)
    out = capsys.readouterr().out
    assert "\033[" not in out and plain in out
