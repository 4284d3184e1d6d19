"""The offline validator: YAML loading, zip handling, update rules and the `validate` command."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import API_SAMPLES, RunCli

from evalai_mirror import yamlload
from evalai_mirror.source import MappingSource, WorkTreeSource
from evalai_mirror.validate import (
    OFFLINE_LIMITS,
    Problem,
    check_update,
    server_error_text,
    validate_source,
    validate_zip_bytes,
)

# --- yamlload --------------------------------------------------------------------------------


def test_yaml_semantics_match_safe_load(fixture_copy: Path) -> None:
    text = (fixture_copy / "challenge_config.yaml").read_text()
    assert yamlload.load(text).data == yaml.safe_load(text)
    loaded = yamlload.load("a: yes\nb: off\nc: 2024-01-01 00:00:00\nd: '2024-01-01'\n")
    assert loaded.data["a"] is True and loaded.data["b"] is False
    assert loaded.data["c"].isoformat() == "2024-01-01T00:00:00"
    assert loaded.data["d"] == "2024-01-01"


def test_yaml_lines_of_keys_and_items(fixture_copy: Path) -> None:
    loaded = yamlload.load((fixture_copy / "challenge_config.yaml").read_bytes())
    assert loaded.line(("title",)) == 2
    assert loaded.line(("challenge_phases", 1)) == 56
    assert loaded.line(("challenge_phases", 1, "codename")) == 65
    assert loaded.line(("leaderboard", 0, "schema", "default_order_by")) == 22
    assert loaded.line(("challenge_phases", 0, "submission_meta_attributes", 1, "options", 2)) == 46
    # a path that is not there falls back to its nearest ancestor
    assert loaded.line(("challenge_phases", 1, "no_such_key")) == 56


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2\nb: 3\n", "a: b: c\n", "a:\n  - x\n - y\n", "a: 'unterminated\n", "{a: 1\n"],
)
def test_yaml_syntax_error_is_the_servers_text(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as real:
        yaml.safe_load(text)  # what the server runs
    exc = real.value
    mark = exc.problem_mark  # type: ignore[attr-defined]
    expected = f"\n{exc.problem.capitalize()} in line {mark.line + 1}, column {mark.column + 1}\n"  # type: ignore[attr-defined]
    with pytest.raises(yamlload.YamlSyntaxError) as ours:
        yamlload.load(text)
    assert ours.value.server_message == expected
    assert ours.value.line == mark.line + 1


def test_yaml_recursive_and_repeated_aliases_load_once() -> None:
    # safe_load accepts a list that contains itself; each node is walked once, not forever
    loaded = yamlload.load("a: &x [1, *x]\nb: 2\n")
    assert loaded.data["a"][1] is loaded.data["a"]
    assert loaded.line(("b",)) == 2
    # a key reached through an alias has the alias's line
    loaded = yamlload.load("p: &p\n  k: 1\nq: *p\n")
    assert loaded.line(("p", "k")) == 2
    assert loaded.line(("q", "k")) == 3


# --- the whole fixture -----------------------------------------------------------------------


def test_fixture_is_valid(fixture_copy: Path) -> None:
    assert validate_source(WorkTreeSource(fixture_copy)) == []


def test_real_evaluation_script_zip_counts(fixture_copy: Path) -> None:
    for item in (fixture_copy / "evaluation_script").iterdir():
        item.unlink()
    (fixture_copy / "evaluation_script").rmdir()
    assert validate_source(WorkTreeSource(fixture_copy))[0].message.startswith(
        "ERROR: No evaluation script"
    )
    (fixture_copy / "evaluation_script.zip").write_bytes(_zip({"main.py": b"x"}))
    assert validate_source(WorkTreeSource(fixture_copy)) == []


def test_config_in_a_subfolder_resolves_paths_from_there(fixture_copy: Path) -> None:
    files = {
        f"sub/{p.relative_to(fixture_copy).as_posix()}": p.read_bytes()
        for p in fixture_copy.rglob("*")
        if p.is_file()
    }
    source = MappingSource(files, label="commit abc1234")
    assert validate_source(source, "sub/challenge_config.yaml") == []
    missing = validate_source(source, "sub/nope.yaml")
    assert [p.message for p in missing] == ["There is no YAML file in the zip file you uploaded!"]


def test_server_error_text_joins_in_order() -> None:
    problems = [Problem("first", "c.yaml", 1), Problem(" ERROR: second.", "c.yaml", None)]
    assert server_error_text(problems) == "first\n ERROR: second."
    assert server_error_text([]) == ""
    assert problems[0].crash is False and problems[0].hint is None
    with pytest.raises(AttributeError):
        problems[0].message = "x"  # type: ignore[misc]


def test_offline_limits_are_sentences() -> None:
    assert len(OFFLINE_LIMITS) >= 3
    assert all(limit.endswith(".") for limit in OFFLINE_LIMITS)


# --- zips, as the server reads them ----------------------------------------------------------


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _fixture_zip(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(("evaluation_script/", "github/")):
            files[rel] = path.read_bytes()
    script = {p.name: p.read_bytes() for p in (root / "evaluation_script").iterdir() if p.is_file()}
    files["evaluation_script.zip"] = _zip(script)
    return files


def test_zip_of_the_fixture_is_valid(fixture_copy: Path) -> None:
    assert validate_zip_bytes(_zip(_fixture_zip(fixture_copy))) == []


def test_zip_needs_the_real_evaluation_script_zip(fixture_copy: Path) -> None:
    files = _fixture_zip(fixture_copy)
    del files["evaluation_script.zip"]
    files["evaluation_script/main.py"] = b"x"  # a folder does not count inside a zip
    problems = validate_zip_bytes(_zip(files))
    assert [p.message for p in problems] == [
        "ERROR: No evaluation script is present in the zip file. Please add it and then try again!"
    ]


def test_zip_without_yaml() -> None:
    problems = validate_zip_bytes(_zip({"README.md": b"x", "__MACOSX/challenge_config.yaml": b""}))
    assert server_error_text(problems) == "There is no YAML file in the zip file you uploaded!"


def test_zip_config_not_at_root_is_not_found(fixture_copy: Path) -> None:
    files = {f"challenge/{k}": v for k, v in _fixture_zip(fixture_copy).items()}
    problems = validate_zip_bytes(_zip(files))
    assert server_error_text(problems) == "There is no YAML file in the zip file you uploaded!"


def test_zip_with_two_yamls(fixture_copy: Path) -> None:
    files = _fixture_zip(fixture_copy)
    files["challenge_config.yml"] = files["challenge_config.yaml"]
    problems = validate_zip_bytes(_zip(files))
    assert server_error_text(problems) == (
        "There are 2 challenge config YAML files instead of 1 in the zip file!"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip at all",
        b"PK\x03\x04truncated",
        _zip({"../evil.txt": b"x"}),
        _zip({"/abs.txt": b"x"}),
    ],
    ids=["garbage", "truncated", "zip-slip", "absolute"],
)
def test_zip_that_cannot_be_extracted(data: bytes) -> None:
    problems = validate_zip_bytes(data)
    assert server_error_text(problems) == (
        "The zip file contents cannot be extracted. Please check the format!"
    )


def test_zip_errors_are_joined_like_the_server(fixture_copy: Path) -> None:
    files = _fixture_zip(fixture_copy)
    del files["templates/description.html"]
    del files["evaluation_script.zip"]
    del files["annotations/test_annotations_devsplit.json"]
    # recorded from a real EvalAI (tests/data/api)
    recorded = json.loads(
        (API_SAMPLES / "invalid_config_validate_bad_missing_files.json").read_text()
    )["error"]
    assert server_error_text(validate_zip_bytes(_zip(files))) == recorded


# --- update-only rules -----------------------------------------------------------------------


def _config(fixture: Path) -> dict[str, object]:
    data = yaml.safe_load((fixture / "challenge_config.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_update_unchanged_is_fine(fixture_copy: Path) -> None:
    config = _config(fixture_copy)
    assert check_update(config, _config(fixture_copy), approved=True) == []


def test_update_deletions(fixture_copy: Path) -> None:
    old, new = _config(fixture_copy), _config(fixture_copy)
    new["challenge_phases"] = new["challenge_phases"][:1]  # type: ignore[index]
    new["challenge_phase_splits"] = new["challenge_phase_splits"][:1]  # type: ignore[index]
    new["dataset_splits"] = new["dataset_splits"][:1]  # type: ignore[index]
    assert check_update(old, new, approved=False) == [
        "ERROR: Challenge phase 2 not found in config. Deletion of existing challenge phase "
        "after challenge creation is not allowed.",
        "ERROR: Dataset split 2 not found in config. Deletion of existing dataset split after "
        "challenge creation is not allowed.",
        "ERROR: Challenge phase split (leaderboard_id: 1, challenge_phase_id: 2, "
        "dataset_split_id: 1) not found in config. Deletion of existing challenge phase split "
        "after challenge creation is not allowed.",
        "ERROR: Challenge phase split (leaderboard_id: 1, challenge_phase_id: 2, "
        "dataset_split_id: 2) not found in config. Deletion of existing challenge phase split "
        "after challenge creation is not allowed.",
    ]


def test_update_new_mapping_only_for_new_phases(fixture_copy: Path) -> None:
    old, new = _config(fixture_copy), _config(fixture_copy)
    splits = new["challenge_phase_splits"]
    assert isinstance(splits, list)
    splits.append({**splits[0], "dataset_split_id": 2})  # existing phase 1
    splits.append(
        {**splits[0], "challenge_phase_id": 3, "leaderboard_id": 9, "dataset_split_id": 8}
    )
    assert check_update(old, new, approved=False) == [
        "ERROR: Cannot add a new leaderboard/dataset-split mapping for an existing challenge "
        "phase (leaderboard_id: 1, challenge_phase_id: 1, dataset_split_id: 2). New mappings "
        "are only allowed for newly added challenge phases.",
        "ERROR: Leaderboard id 9 is not part of this challenge or the uploaded configuration. "
        "New challenge phases may only use leaderboards declared in the configuration.",
        "ERROR: Dataset split id 8 is not part of this challenge or the uploaded configuration. "
        "New challenge phases must use dataset splits declared in the configuration.",
    ]


def test_update_after_approval_freezes(fixture_copy: Path) -> None:
    old, new = _config(fixture_copy), _config(fixture_copy)
    new["leaderboard"][0]["schema"]["default_order_by"] = "Metric1"  # type: ignore[index]
    new["dataset_splits"][0]["name"] = "Renamed"  # type: ignore[index]
    new["challenge_phase_splits"][0]["visibility"] = 3  # type: ignore[index]
    new["use_fifo_sqs"] = True
    assert check_update(old, new, approved=False) == [
        "ERROR: Unable to serialize the challenge because of the following errors: "
        "{'use_fifo_sqs': [ErrorDetail(string='use_fifo_sqs cannot be changed after the "
        "challenge queue has been created.', code='invalid')]}."
    ]
    assert check_update(old, new, approved=True)[1:] == [
        "ERROR: Leaderboard 1 cannot be changed after the challenge is approved by an admin. "
        "Revert the leaderboard block to match the approved configuration or contact support.",
        "ERROR: Dataset split 1 cannot be changed after the challenge is approved by an admin. "
        "Revert the dataset split block to match the approved configuration or contact support.",
        "ERROR: Challenge phase split (leaderboard_id: 1, challenge_phase_id: 1, "
        "dataset_split_id: 1) cannot be changed after the challenge is approved by an admin. "
        "Revert visibility / ordering fields to match the approved configuration or contact "
        "support.",
    ]


def test_update_leaderboard_deletion(fixture_copy: Path) -> None:
    old, new = _config(fixture_copy), _config(fixture_copy)
    new["leaderboard"] = []
    assert check_update(old, new, approved=False) == [
        "ERROR: The leaderboard with ID: 1 not found in config. Deletion of an existing "
        "leaderboard after challenge creation is not allowed."
    ]


# --- the command -----------------------------------------------------------------------------


def test_cli_valid(fixture_copy: Path, run_cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(["validate"], cwd=fixture_copy / "templates") == 0  # found walking up
    out = capsys.readouterr().out
    assert "valid" in out and "challenge_config.yaml" in out


def test_cli_invalid_lines(fixture_copy: Path, run_cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    (fixture_copy / "templates" / "description.html").unlink()
    assert run_cli(["validate", str(fixture_copy)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(
        line.endswith(":4: File at path description not found. Please specify a valid file path")
        for line in out
    )
    assert out[-1].endswith("1 problem; EvalAI would refuse this configuration.")


def test_cli_json(fixture_copy: Path, run_cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    config = fixture_copy / "challenge_config.yaml"
    assert run_cli(["validate", "--json", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "problems": []}
    config.write_text(config.read_text().replace("published: True", "published: maybe"))
    assert run_cli(["validate", "--json", str(config)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    assert [(p["line"], p["path"], p["crash"]) for p in result["problems"]] == [
        (15, "challenge_config.yaml", False)
    ]
    assert result["problems"][0]["message"].endswith(
        "{'published': [ErrorDetail(string='Must be a valid boolean.', code='invalid')]}."
    )


def test_cli_syntax_error_is_one_line(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fixture_copy / "challenge_config.yaml"
    config.write_text(config.read_text().replace("title: Random", "title: Random: ", 1))
    assert run_cli(["validate", "--quiet"], cwd=fixture_copy) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "challenge_config.yaml:2: Mapping values are not allowed here in line 2, column 14",
        "    hint: fix the YAML syntax at that line",
        "challenge_config.yaml: 1 problem; EvalAI would refuse this configuration.",
    ]
    assert "Traceback" not in captured.err


def test_cli_quiet_prints_nothing_when_valid(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["validate", "--quiet"], cwd=fixture_copy) == 0
    assert capsys.readouterr().out == ""


def test_cli_crash_case_is_reported_not_raised(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    (fixture_copy / "challenge_config.yaml").write_text("- just\n- a list\n")
    assert run_cli(["validate"], cwd=fixture_copy) == 1
    captured = capsys.readouterr()
    assert "HTTP 500" in captured.out and captured.out.startswith("challenge_config.yaml:1: ")
    assert "Traceback" not in captured.err


def test_cli_without_config(tmp_path: Path, run_cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(["validate"], cwd=tmp_path) == 1
    err = capsys.readouterr().err
    assert "no challenge_config.yaml" in err and "Traceback" not in err
    assert run_cli(["validate", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_cli_two_configs(fixture_copy: Path, run_cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    (fixture_copy / "challenge_config.yml").write_text("title: x\n")
    assert run_cli(["validate", "-q"], cwd=fixture_copy) == 1
    assert "There are 2 challenge config YAML files instead of 1" in capsys.readouterr().out


def test_validate_does_not_import_heavy_modules(fixture_copy: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from evalai_mirror.cli import main; rc = main(['validate', '-q']); "
        "heavy = [m for m in ('git', 'requests', 'ruamel', 'werkzeug', 'watchdog', 'dataclasses',"
        " 'zipfile') if m in sys.modules]; print(rc, heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=fixture_copy, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "0 []"


# --- --remote, against the sandbox over real HTTP ---------------------------------------------


@pytest.mark.slow
def test_cli_remote_agrees_with_offline(
    challenge_repo: Path,
    sandbox_env: object,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["validate", "--remote"], cwd=challenge_repo) == 0
    captured = capsys.readouterr()
    assert "The challenge config has been validated successfully" in captured.out
    # off a terminal it says what it does before doing it
    assert "overwriting the one it keeps" in captured.err and "uploading it now" in captured.err
    assert sandbox_env.token not in captured.out + captured.err  # type: ignore[attr-defined]

    (challenge_repo / "templates" / "description.html").unlink()
    assert run_cli(["validate", "--remote", "--json"], cwd=challenge_repo) == 1
    remote = json.loads(capsys.readouterr().out)
    assert run_cli(["validate", "--json"], cwd=challenge_repo) == 1
    offline = json.loads(capsys.readouterr().out)
    assert remote["valid"] is offline["valid"] is False
    assert [p["message"] for p in remote["problems"]] == [
        "\n".join(p["message"] for p in offline["problems"])
    ]


def _on_a_terminal(argv: list[str], cwd: Path, answer: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr, type ``answer``; (exit
    status, everything it printed)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "evalai_mirror", *argv], cwd=cwd,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    output = b""
    answered = False
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"Upload it?" in output:
            os.write(master, answer.encode() + b"\n")
            answered = True
    os.close(master)
    return proc.wait(timeout=120), output.decode("utf-8", "replace")


@pytest.mark.slow
def test_remote_asks_first_on_a_terminal(
    challenge_repo: Path, sandbox_env: object, run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server: Any = sandbox_env
    server.clear_requests()
    code, output = _on_a_terminal(["validate", "--remote"], challenge_repo, "n")
    assert code == 1 and "Nothing was uploaded." in output, output
    assert "overwriting the one it keeps" in output
    assert [r for r in server.requests() if r.method == "POST"] == []
    code, output = _on_a_terminal(["validate", "--remote"], challenge_repo, "y")
    assert code == 0 and "validated successfully" in output, output
    assert len([r for r in server.requests() if r.method == "POST"]) == 1
    # --yes: no question even on a terminal
    code, output = _on_a_terminal(["validate", "--remote", "--yes"], challenge_repo, "n")
    assert code == 0 and "Upload it?" not in output, output


def test_cascade_hints_say_why_an_id_is_invalid(fixture_copy: Path) -> None:
    config = fixture_copy / "challenge_config.yaml"
    text = config.read_text().replace(
        "max_submissions_per_day: 5", "max_submissions_per_day: -5", 1
    )
    config.write_text(text.replace("  - challenge_phase_id: 2\n", "  - challenge_phase_id: 7\n", 1))
    problems = validate_source(WorkTreeSource(fixture_copy))
    hints = {p.message: p.hint for p in problems if "Invalid phased id" in p.message}
    assert hints == {
        "ERROR: Invalid phased id 1 found in challenge phase split 1.": (
            "the phase with id 1 has errors reported above"
        ),
        "ERROR: Invalid phased id 7 found in challenge phase split 2.": (
            "no phase has id 7 under challenge_phases"
        ),
    }
