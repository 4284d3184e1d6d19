"""The EvalAI-Starters zip built from a working copy, a commit and in-memory files."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import git

from evalai_mirror.git import GitRepo
from evalai_mirror.source import MappingSource, WorkTreeSource
from evalai_mirror.zipbuild import (
    build_challenge_zip,
    build_evaluation_script_zip,
    included,
)

TOKEN = "tok-0123456789abcdef-secret"


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def _read(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def _with_extras(repo: Path) -> Path:
    """The fixture plus everything EvalAI-Starters leaves out, and a real-looking token."""
    (repo / "github" / "host_config.json").write_text(
        json.dumps({"token": TOKEN, "team_pk": "1", "evalai_host_url": "http://127.0.0.1"})
    )
    for rel in (
        ".github/workflows/process.yml",
        "code_upload_challenge_evaluation/agent.py",
        "remote_challenge_evaluation/main.py",
        "templates/.gitignore",
        ".gitignore",
        "challenge_config.zip",
        "run.sh",
        "submission.json",
        "annotations/README.md",
        "annotations/github/nested.txt",
    ):
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{rel}\n")
    (repo / "evaluation_script" / "helpers").mkdir()
    (repo / "evaluation_script" / "helpers" / "util.py").write_text("X = 1\n")
    return repo


def test_contents_follow_evalai_starters(fixture_copy: Path) -> None:
    data = build_challenge_zip(WorkTreeSource(_with_extras(fixture_copy)))
    names = _names(data)
    assert names == sorted(names)
    assert names == [
        "annotations/test_annotations_devsplit.json",
        "annotations/test_annotations_testsplit.json",
        "challenge_config.yaml",
        "evaluation_script.zip",
        "logo.jpg",
        "templates/challenge_phase_1_description.html",
        "templates/challenge_phase_2_description.html",
        "templates/description.html",
        "templates/evaluation_details.html",
        "templates/submission_guidelines.html",
        "templates/terms_and_conditions.html",
    ]
    assert _read(data, "challenge_config.yaml") == (fixture_copy / "challenge_config.yaml").read_bytes()
    inner = _read(data, "evaluation_script.zip")
    assert _names(inner) == ["__init__.py", "helpers/util.py", "main.py"]
    assert _read(inner, "main.py") == (fixture_copy / "evaluation_script" / "main.py").read_bytes()
    assert inner == build_evaluation_script_zip(WorkTreeSource(fixture_copy))


def test_the_token_never_goes_in(fixture_copy: Path) -> None:
    data = build_challenge_zip(WorkTreeSource(_with_extras(fixture_copy)))
    assert TOKEN.encode() not in data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            assert TOKEN.encode() not in archive.read(info)
            assert "host_config" not in info.filename


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("challenge_config.yaml", True),
        ("templates/description.html", True),
        ("github/host_config.json", False),
        ("deep/.github/x", False),
        ("docs/README.md", False),
        ("README.md.bak", True),
        ("evaluation_script/main.py", False),
        ("evaluation_script.zip", False),
        ("annotations/evaluation_script/x.json", True),
    ],
)
def test_included(path: str, expected: bool) -> None:
    assert included(path) is expected


def test_deterministic_bytes(fixture_copy: Path, challenge_repo: Path) -> None:
    first = build_challenge_zip(WorkTreeSource(fixture_copy))
    (fixture_copy / "logo.jpg").touch()  # a new mtime changes nothing
    assert build_challenge_zip(WorkTreeSource(fixture_copy)) == first
    files = {p: (fixture_copy / p).read_bytes() for p in WorkTreeSource(fixture_copy).list_files()}
    shuffled = dict(reversed(list(files.items())))
    assert build_challenge_zip(MappingSource(shuffled)) == first
    # the same tree from a commit gives the same bytes
    assert build_challenge_zip(GitRepo.open(challenge_repo).commit_source()) == first
    (fixture_copy / "templates" / "description.html").write_text("<p>changed</p>")
    assert build_challenge_zip(WorkTreeSource(fixture_copy)) != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert (info.external_attr >> 16) & 0o777 == 0o644


def test_commit_source_ignores_the_work_tree(challenge_repo: Path) -> None:
    committed = build_challenge_zip(GitRepo.open(challenge_repo).commit_source())
    (challenge_repo / "templates" / "description.html").write_text("<p>uncommitted</p>")
    (challenge_repo / "extra.txt").write_text("untracked")
    assert build_challenge_zip(GitRepo.open(challenge_repo).commit_source()) == committed
    git(challenge_repo, "add", "-A")
    git(challenge_repo, "commit", "-qm", "edit")
    after = build_challenge_zip(GitRepo.open(challenge_repo).commit_source())
    assert _read(after, "templates/description.html") == b"<p>uncommitted</p>"
    assert "extra.txt" in _names(after)


def test_a_committed_evaluation_script_zip_is_used_without_the_folder() -> None:
    inner = build_evaluation_script_zip(MappingSource({"evaluation_script/main.py": b"x"}))
    data = build_challenge_zip(
        MappingSource({"challenge_config.yaml": b"title: t\n", "evaluation_script.zip": inner})
    )
    assert _read(data, "evaluation_script.zip") == inner
    # with the folder present, the folder wins over a stale committed zip
    data = build_challenge_zip(
        MappingSource(
            {
                "challenge_config.yaml": b"title: t\n",
                "evaluation_script.zip": b"stale",
                "evaluation_script/main.py": b"y",
            }
        )
    )
    assert _names(_read(data, "evaluation_script.zip")) == ["main.py"]
    assert _read(_read(data, "evaluation_script.zip"), "main.py") == b"y"


@pytest.mark.skipif(
    importlib.util.find_spec("evalai_mirror.validate") is None,
    reason="evalai_mirror.validate is not written yet",
)
def test_evalai_rules_accept_the_zip(fixture_copy: Path) -> None:
    from evalai_mirror.validate import validate_zip_bytes

    data = build_challenge_zip(WorkTreeSource(_with_extras(fixture_copy)))
    assert validate_zip_bytes(data) == []
    # the check can fail: a zip without a template the config names is refused
    (fixture_copy / "templates" / "description.html").unlink()
    problems = validate_zip_bytes(build_challenge_zip(WorkTreeSource(fixture_copy)))
    assert problems and "description" in problems[0].message
