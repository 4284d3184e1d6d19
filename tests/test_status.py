"""`evalai-mirror status`: every field state produced for real (git repo + sandbox over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, git, set_title, status_json


def field(data: Any, key: str) -> Any:
    return next(f for f in data["fields"] if f["key"] == key)


def test_in_sync_after_first_push(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    assert run_cli(["status"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert f"EvalAI challenge {pk}" in out
    assert f"/web/challenges/challenge-page/{pk}/overview" in out
    # every value EvalAI returns is compared (the split details too, one GET per split)
    assert "everything is in sync" in out and "not compared by status" not in out
    assert "sent one way: EvalAI does not return these" in out
    assert "the test annotation file of phase dev: unchanged since the last push" in out
    assert "last pull  never" in out and "pending    none" in out
    # the table fits in 100 columns even with the HTML fields in it
    assert max(len(line) for line in out.splitlines() if "challenge-page" not in line) <= 100
    assert "phases." in out and "description" in out
    code, data = status_json(run_cli, repo, capsys)
    assert code == 0 and data["drift"] is False and data["challenge_pk"] == pk
    assert {f["state"] for f in data["fields"]} == {"in sync"}
    assert data["last_push"] and data["last_pull"] is None


def test_changed_here_committed_and_uncommitted(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    set_title(repo, "A new title here")
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and data["drift"] is True
    title = field(data, "title")
    assert title["state"] == "changed here" and title["uncommitted"] is True
    assert title["local"] == "A new title here" and title["remote"] != "A new title here"
    assert run_cli(["status"], cwd=repo) == 2
    out = capsys.readouterr().out
    assert "changed here*" in out and "not committed yet" in out
    assert "changed here*: commit, then `evalai-mirror push`" in out
    git(repo, "commit", "-qam", "new title")
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and field(data, "title")["uncommitted"] is False
    assert run_cli(["status"], cwd=repo) == 2
    out = capsys.readouterr().out
    assert "changed here: `evalai-mirror push` sends what is committed" in out
    assert "commit, then" not in out  # it is committed already: only a push is missing


@pytest.mark.parametrize("columns", [80, 160])
def test_values_use_the_terminal_width(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: int,
) -> None:
    repo, _pk = pushed_repo
    title = "A title well over seventeen characters"
    set_title(repo, title)
    monkeypatch.setenv("COLUMNS", str(columns))
    assert run_cli(["status"], cwd=repo) == 2
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("title "))
    if columns == 160:
        assert title in row
    else:
        assert title not in row and "…" in row
    # never wider than the terminal, except that a value column keeps at least 17 characters
    widest = max(len(line) for line in out.splitlines() if "challenge-page" not in line)
    assert widest <= max(columns, 100)


def test_changed_on_evalai(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    sandbox_env.edit_phase(pk, "dev", max_submissions_per_day=7)
    assert run_cli(["status", "--changed"], cwd=repo) == 2
    out = capsys.readouterr().out
    assert "phase dev (phases.dev.*)" in out
    row = next(line for line in out.splitlines() if "  max_submissions_per_day" in line)
    assert "changed on EvalAI" in row and "7" in row
    assert "title" not in out.split("FIELD", 1)[1].split("\n\n")[0]  # --changed hides in-sync rows
    assert "pull" in out
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and field(data, "phases.dev.max_submissions_per_day")["remote"] == 7


def test_conflict_and_long_html_is_summarised(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    set_title(repo, "Title from the repository")
    sandbox_env.edit_challenge(pk, title="Title from EvalAI")
    long_html = "<p>" + "very long paragraph " * 40 + "</p>\n<p>second</p>"
    (repo / "templates" / "description.html").write_text(long_html)
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2
    assert field(data, "title")["state"] == "conflict"
    assert field(data, "description")["state"] == "changed here"
    assert run_cli(["status"], cwd=repo) == 2
    out = capsys.readouterr().out
    assert "very long paragraph " * 3 not in out  # summarised, not printed
    assert f"2 lines/{len(long_html.strip())} chars" in out
    assert "resolve FIELD --take local|remote" in out
    assert max(len(line) for line in out.splitlines() if "challenge-page" not in line) <= 100


def test_both_same_counts_as_drift_until_recorded(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    set_title(repo, "Same on both sides")
    sandbox_env.edit_challenge(pk, title="Same on both sides")
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and field(data, "title")["state"] == "changed on both sides, same value"


def test_evalai_unreachable_is_an_error_not_a_deletion(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    sandbox_env.stop()
    assert run_cli(["status"], cwd=repo) == 1
    captured = capsys.readouterr()
    text = (captured.out + captured.err).lower()
    assert "could not read evalai" in text
    assert "deleted" not in text.replace("nothing is shown as deleted", "")
    assert "absent" not in text and "changed" not in text
    code, data = status_json(run_cli, repo, capsys)
    assert code == 1 and data["fields"] == [] and "could not read EvalAI" in data["error"]


def test_evalai_html_error_is_an_error(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    sandbox_env.add_fault("GET", r"challenge_phase$", "html", count=10)
    assert run_cli(["status"], cwd=repo) == 1
    assert "could not read EvalAI" in capsys.readouterr().err


def test_no_challenge_yet_is_drift(
    challenge_repo: Path, sandbox_env: Any, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["status"], cwd=challenge_repo) == 2
    out = capsys.readouterr().out
    assert "no challenge for host-org/random-challenge yet" in out and "push" in out


def test_pending_push_is_drift(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evalai_mirror import sync, syncpush

    repo, _pk = pushed_repo
    ctx = sync.open_context(None)
    syncpush.mark_pending(ctx, "0123456789abcdef")
    assert run_cli(["status"], cwd=repo) == 2
    assert "0123456789abcdef did not reach EvalAI" in capsys.readouterr().out


def test_structure_change_is_drift(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    script = next((repo / "evaluation_script").glob("*.py"))
    script.write_text(script.read_text() + "\n# tweak\n")
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and data["structure_changes"]
    assert run_cli(["status"], cwd=repo) == 2
    assert "zip-only parts changed here" in capsys.readouterr().out



def test_values_shown_in_one_short_line() -> None:
    from evalai_mirror.commands.status import show
    from evalai_mirror.merge import MISSING

    assert show("2099-01-01T00:00:00Z") == "2099-01-01 00:00Z"
    assert show("2099-05-31T23:59:59Z") == "2099-05-31 23:59:59"
    assert show(MISSING) == "(absent)" and show(None) == "(none)" and show(True) == "true"
    assert show(5) == "5" and show("short", is_text=True) == "short"
    assert show("<p>a</p>\n<p>b</p>", is_text=True) == "2 lines/17 chars"
    assert show("x" * 30, is_text=True) == "30 chars"


def test_merged_html_edits(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evalai_mirror import sync, syncpush

    repo, pk = pushed_repo
    page = repo / "templates" / "description.html"
    page.write_text("<p>one</p>\n<p>two</p>\n<p>three</p>\n<p>four</p>\n")
    git(repo, "commit", "-qam", "longer description")
    ctx = sync.open_context(None)
    assert syncpush.push(ctx).action == "patched"
    page.write_text("<p>ONE here</p>\n<p>two</p>\n<p>three</p>\n<p>four</p>\n")
    sandbox_env.edit_challenge(
        pk, description="<p>one</p>\n<p>two</p>\n<p>three</p>\n<p>FOUR on EvalAI</p>"
    )
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2 and field(data, "description")["state"] == "merged (non-overlapping edits)"
    assert run_cli(["status", "--changed"], cwd=repo) == 2
    assert "merged" in capsys.readouterr().out


def test_invalid_yaml_here_is_an_error_with_the_line(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    config = repo / "challenge_config.yaml"
    config.write_text(config.read_text() + "\nbroken: [unclosed\n")
    assert run_cli(["status"], cwd=repo) == 1
    err = capsys.readouterr().err
    assert "challenge_config.yaml:" in err and "Traceback" not in err


def test_fresh_clone_without_history_reports_conflicts_then_resolves(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _repo, pk = pushed_repo
    bare = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    # a repository whose base was never shared (refs/evalai-mirror/challenge is not there)
    git(bare, "update-ref", "-d", "refs/evalai-mirror/challenge")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "challenge", str(bare), str(clone))
    sandbox_env.edit_challenge(pk, title="Edited on EvalAI")
    code, data = status_json(run_cli, clone, capsys)
    assert code == 2 and data["last_push"] is None
    assert field(data, "title")["state"] == "conflict"  # no shared history: never guess
    assert {f["state"] for f in data["fields"] if f["key"] != "title"} == {"in sync"}
    assert not (clone / ".git" / "evalai-mirror" / "state.json").exists()  # status is read-only
    assert run_cli(["resolve", "title", "--take", "remote"], cwd=clone) == 0
    capsys.readouterr()
    code, data = status_json(run_cli, clone, capsys)
    assert code == 0 and field(data, "title")["local"] == "Edited on EvalAI"


def _run_on_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI as a subprocess whose stdout is a pseudo-terminal."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalai_mirror", *argv],
        cwd=cwd, env=env, stdout=slave, stderr=subprocess.PIPE,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_colour_on_a_real_terminal_unless_no_color(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    import os

    repo, _pk = pushed_repo
    set_title(repo, "Changed for colour")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm"
    code, out = _run_on_terminal(["status"], repo, env)
    assert code == 2 and "\033[32mchanged here" in out
    code, out = _run_on_terminal(["status"], repo, {**env, "NO_COLOR": "1"})
    assert code == 2 and "changed here" in out and "\033[" not in out


def test_what_evalai_does_not_return_is_shown_as_sent_one_way(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    annotation = repo / "annotations" / "test_annotations_testsplit.json"
    annotation.write_text(annotation.read_text() + "\n")
    code, data = status_json(run_cli, repo, capsys)
    assert code == 2
    one_way = {e["part"]: e["changed_here_since_last_push"] for e in data["sent_one_way"]}
    assert one_way == {"evaluation_script": False, "annotations.dev": False,
                       "annotations.test": True, "image": False}
    assert data["not_compared"] == []  # every value EvalAI returns was compared
    assert run_cli(["status"], cwd=repo) == 2
    out = capsys.readouterr().out
    assert "the test annotation file of phase test: changed here since the last push" in out
