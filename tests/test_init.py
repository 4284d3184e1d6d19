"""`evalai-mirror init` and the bundled challenge template: real git, real pre-commit."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_ROOT, RunCli, git

from evalai_mirror import PIP_SPEC, scaffold

EXPECTED_FILES = {
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "challenge_config.yaml",
    "logo.jpg",
    "annotations/test_annotations_devsplit.json",
    "annotations/test_annotations_testsplit.json",
    "evaluation_script/__init__.py",
    "evaluation_script/main.py",
    "github/host_config.json",
    "templates/challenge_phase_1_description.html",
    "templates/challenge_phase_2_description.html",
    "templates/description.html",
    "templates/evaluation_details.html",
    "templates/submission_guidelines.html",
    "templates/terms_and_conditions.html",
}
PLACEHOLDERS = {
    "token": "<evalai_user_auth_token>",
    "team_pk": "<host_team_pk>",
    "evalai_host_url": "<evalai_host_url>",
}


def tracked(repo: Path) -> set[str]:
    return set(git(repo, "ls-files", "-z").strip("\0").split("\0")) - {""}


def listing(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def load_config(root: Path) -> dict[str, Any]:
    data = yaml.safe_load((root / "challenge_config.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# -- the repository init makes ------------------------------------------------------------------


def test_init_makes_one_commit_on_challenge_with_the_template(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "my-challenge"
    assert run_cli(["init", str(dest)]) == 0

    assert git(dest, "symbolic-ref", "--short", "HEAD").strip() == "challenge"
    assert git(dest, "rev-list", "--count", "HEAD").strip() == "1"
    assert tracked(dest) == EXPECTED_FILES
    assert git(dest, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(dest, "log", "-1", "--format=%s").strip() == scaffold.FIRST_COMMIT_MESSAGE
    host = json.loads((dest / "github/host_config.json").read_text(encoding="utf-8"))
    assert host == PLACEHOLDERS
    assert not (dest / scaffold.WORKFLOWS_DIR).exists()
    assert load_config(dest)["title"] == scaffold.DEFAULT_TITLE
    # nothing left behind from the staging folder
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".evalai-mirror")] == []

    out = capsys.readouterr().out
    assert "branch challenge" in out
    for step in ("evalai-mirror validate", "pre-commit install", "evalai-mirror install-hooks",
                 "git push -u origin challenge", "EVALAI_AUTH_TOKEN"):
        assert step in out


def test_init_fills_the_current_empty_folder(tmp_path: Path, run_cli: RunCli) -> None:
    here = tmp_path / "empty"
    here.mkdir()
    assert run_cli(["init"], cwd=here) == 0
    assert (here / ".git").is_dir()
    assert tracked(here) == EXPECTED_FILES
    assert sorted(os.listdir(here)) == sorted(
        {p.split("/")[0] for p in EXPECTED_FILES} | {".git"}
    )


def test_init_refuses_a_non_empty_folder_and_writes_nothing(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    before = listing(tmp_path)

    assert run_cli(["init", str(dest)]) == 1

    assert listing(tmp_path) == before
    assert (dest / "notes.txt").read_text() == "mine\n"
    err = capsys.readouterr().err
    assert "not empty (notes.txt)" in err
    assert "evalai-mirror init my-challenge" in err
    assert "Traceback" not in err


def test_init_refuses_a_file(tmp_path: Path, run_cli: RunCli,
                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "challenge"
    target.write_text("x")
    assert run_cli(["init", str(target)]) == 1
    assert target.read_text() == "x"
    assert "is a file, not a folder" in capsys.readouterr().err


def test_init_leaves_nothing_when_git_refuses_the_branch(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["init", str(tmp_path / "new"), "--branch", "bad..name"]) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["init", str(empty), "--branch", "bad..name"]) == 1
    assert sorted(os.listdir(tmp_path)) == ["empty", "home"]
    assert os.listdir(empty) == []
    assert "'bad..name' is not a valid branch name" in capsys.readouterr().err


def test_init_on_another_branch_warns_when_it_would_not_sync(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["init", str(tmp_path / "a"), "--branch", "challenge-2025"]) == 0
    assert git(tmp_path / "a", "symbolic-ref", "--short", "HEAD").strip() == "challenge-2025"
    assert "warning" not in capsys.readouterr().err

    assert run_cli(["init", str(tmp_path / "b"), "--branch", "main"]) == 0
    assert git(tmp_path / "b", "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert "not named challenge or challenge-*" in capsys.readouterr().err


def test_no_commit_leaves_the_files_untracked(tmp_path: Path, run_cli: RunCli,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "c"
    assert run_cli(["init", str(dest), "--no-commit"]) == 0
    assert git(dest, "symbolic-ref", "--short", "HEAD").strip() == "challenge"
    assert git(dest, "rev-parse", "-q", "--verify", "HEAD", check=False) == ""
    assert tracked(dest) == set()
    assert (dest / "challenge_config.yaml").is_file()
    assert "git add -A && git commit" in capsys.readouterr().out


# -- --title ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["Cats vs Dogs", "Cats: vs Dogs #1", "yes", "2024", "'quoted'", "Ünïcödé — ✓"]
)
def test_title_is_set_and_only_that_line_changes(
    tmp_path: Path, run_cli: RunCli, title: str
) -> None:
    dest = tmp_path / "t"
    assert run_cli(["init", str(dest), "--title", f"  {title} "]) == 0
    assert load_config(dest)["title"] == title
    template = scaffold.template_files()["challenge_config.yaml"].decode().splitlines()
    written = (dest / "challenge_config.yaml").read_text(encoding="utf-8").splitlines()
    assert len(template) == len(written)
    changed = [(a, b) for a, b in zip(template, written, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][0].startswith("title: ")
    assert (dest / "README.md").read_text(encoding="utf-8").startswith(f"# {title}\n")


@pytest.mark.parametrize(
    ("title", "message"),
    [("   ", "--title is empty"), ("x" * 101, "101 characters; EvalAI allows at most 100"),
     ("two\nlines", "line break")],
)
def test_bad_title_is_refused_before_anything_is_written(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str], title: str,
    message: str,
) -> None:
    dest = tmp_path / "t"
    assert run_cli(["init", str(dest), "--title", title]) == 1
    assert not dest.exists()
    assert message in capsys.readouterr().err


# -- the template's content ---------------------------------------------------------------------


def test_template_challenge_is_live_and_consistent() -> None:
    files = scaffold.render(scaffold.Options())
    config = yaml.safe_load(files["challenge_config.yaml"])
    now = datetime.utcnow()
    start, end = config["start_date"], config["end_date"]
    assert isinstance(start, datetime) and isinstance(end, datetime)
    assert start < now < end and end.year >= 2099
    for phase in config["challenge_phases"]:
        assert start <= phase["start_date"] < now < phase["end_date"] <= end
        assert phase["description"] in files
        assert phase["test_annotation_file"] in files
    for key in ("description", "evaluation_details", "terms_and_conditions",
                "submission_guidelines", "image"):
        assert config[key] in files
    labels = config["leaderboard"][0]["schema"]["labels"]
    assert config["leaderboard"][0]["schema"]["default_order_by"] in labels
    split_ids = {s["id"] for s in config["dataset_splits"]}
    phase_ids = {p["id"] for p in config["challenge_phases"]}
    for entry in config["challenge_phase_splits"]:
        assert entry["dataset_split_id"] in split_ids
        assert entry["challenge_phase_id"] in phase_ids
    assert not any(b"__" + m + b"__" in data for data in files.values()
                   for m in (b"TITLE", b"PIP_SPEC", b"BRANCH", b"VERSION"))


def test_evaluation_script_scores_each_phase_on_its_split(tmp_path: Path) -> None:
    """The template's evaluate() returns the leaderboard's labels for the config's splits."""
    root = tmp_path / "c"
    root.mkdir()
    scaffold.write_files(root, scaffold.render(scaffold.Options()))
    config = load_config(root)
    labels = set(config["leaderboard"][0]["schema"]["labels"])
    splits = {s["id"]: s["codename"] for s in config["dataset_splits"]}
    phases = {p["id"]: p for p in config["challenge_phases"]}
    for entry in config["challenge_phase_splits"]:
        phase = phases[entry["challenge_phase_id"]]
        annotation = root / phase["test_annotation_file"]
        truth = json.loads(annotation.read_text())["labels"]
        submission = tmp_path / "submission.json"
        submission.write_text(json.dumps({"predictions": [truth[0]] + [None] * (len(truth) - 1)}))
        proc = subprocess.run(
            [sys.executable, "-c",
             "import json, sys; from evaluation_script import evaluate; "
             "print(json.dumps(evaluate(sys.argv[1], sys.argv[2], sys.argv[3], "
             "submission_metadata={})))",
             str(annotation), str(submission), phase["codename"]],
            cwd=root, capture_output=True, text=True, check=True,
        )
        output = json.loads(proc.stdout)
        [result] = output["result"]
        split = splits[entry["dataset_split_id"]]
        assert set(result) == {split}
        assert set(result[split]) == labels
        assert result[split]["Accuracy"] == pytest.approx(100.0 / len(truth))
        assert output["submission_result"] == result


def test_the_template_passes_validate(tmp_path: Path) -> None:
    if importlib.util.find_spec("evalai_mirror.validate") is None:
        pytest.skip("evalai_mirror.validate is not written yet")
    from evalai_mirror.source import WorkTreeSource
    from evalai_mirror.validate import validate_source

    root = tmp_path / "c"
    root.mkdir()
    scaffold.write_files(root, scaffold.render(scaffold.Options(title="A title: with colon")))
    assert validate_source(WorkTreeSource(root)) == []
    # and the check is real: the same tree without its title fails
    config = root / "challenge_config.yaml"
    config.write_text(scaffold.set_title(config.read_text(encoding="utf-8"), ""), encoding="utf-8")
    assert validate_source(WorkTreeSource(root)) != []


def test_the_first_commit_makes_a_zip_evalai_accepts(tmp_path: Path, run_cli: RunCli) -> None:
    """What push would upload from the new repository passes EvalAI's checks, token file out."""
    from evalai_mirror.git import GitRepo
    from evalai_mirror.validate import validate_zip_bytes
    from evalai_mirror.zipbuild import build_challenge_zip

    dest = tmp_path / "z"
    assert run_cli(["init", str(dest), "--github-actions"]) == 0
    data = build_challenge_zip(GitRepo.open(dest).commit_source("HEAD"))
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"challenge_config.yaml", "evaluation_script.zip", "logo.jpg"} <= names
    assert not any(n.startswith(("github/", ".github/")) for n in names)
    assert validate_zip_bytes(data) == []
    assert run_cli(["validate"], cwd=dest) == 0


# -- pre-commit --------------------------------------------------------------------------------


def test_pre_commit_config_runs_the_installed_command_and_matches_the_manifest(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """init's default config works without a published release: ``repo: local`` hooks that run
    the installed evalai-mirror, defined as .pre-commit-hooks.yaml defines them."""
    dest = tmp_path / "p"
    assert run_cli(["init", str(dest)]) == 0
    text = (dest / ".pre-commit-config.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["default_install_hook_types"] == ["pre-commit", "pre-push"]
    [repo] = config["repos"]
    assert repo == {"repo": "local", "hooks": repo["hooks"]}  # no URL, no tag
    assert "rev:" not in text and "github.com" not in text
    ids = [hook["id"] for hook in repo["hooks"]]
    assert ids == list(scaffold.PRE_COMMIT_HOOK_IDS)
    manifest = {h["id"]: h for h in yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())}
    for hook in repo["hooks"]:
        assert hook.pop("language") == "system"
        expected = {k: v for k, v in manifest[hook["id"]].items()
                    if k not in ("language", "description", "minimum_pre_commit_version")}
        assert hook == expected
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=dest, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the challenge's README says how to install evalai-mirror today
    assert f'pip install "{PIP_SPEC}"' in (dest / "README.md").read_text()

    local = tmp_path / "hooks at here"
    dest2 = tmp_path / "q"
    assert run_cli(["init", str(dest2), "--hooks-repo", str(local), "--hooks-rev", "abc123"]) == 0
    [repo2] = yaml.safe_load((dest2 / ".pre-commit-config.yaml").read_text())["repos"]
    assert (repo2["repo"], repo2["rev"]) == (str(local), "abc123")
    assert [h["id"] for h in repo2["hooks"]] == ids
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=dest2, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    capsys.readouterr()
    # a repository without a revision would need a tag that may not exist: refused, nothing made
    assert run_cli(["init", str(tmp_path / "r"), "--hooks-repo", str(local)]) == 1
    assert "--hooks-rev" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_the_default_config_validates_and_pushes_with_real_pre_commit(
    tmp_path: Path, run_cli: RunCli, sandbox_env: Any
) -> None:
    """A newcomer's path: init, pre-commit install, a broken commit refused, then git push
    creates the challenge, all with the evalai-mirror installed here (on PATH)."""
    dest = tmp_path / "new-challenge"
    assert run_cli(["init", str(dest)]) == 0
    bare = tmp_path / "remotes" / "me" / "new-challenge.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(dest, "remote", "add", "origin", str(bare))
    (dest / ".evalai-mirror.yml").write_text("repository: me/new-challenge\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=dest, env=env, capture_output=True, text=True,
                              check=False, timeout=300)

    proc = run(sys.executable, "-m", "pre_commit", "install")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = dest / "challenge_config.yaml"
    good = config.read_text()
    config.write_text(good.replace("description: templates/description.html",
                                   "description: templates/gone.html", 1))
    git(dest, "add", "-A")
    proc = run("git", "commit", "-m", "broken")
    assert proc.returncode != 0 and "gone.html" in proc.stdout + proc.stderr
    config.write_text(good)
    git(dest, "add", "-A")
    proc = run("git", "commit", "-m", "settings")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "evalai-mirror validate" in proc.stdout + proc.stderr
    proc = run("git", "push", "-u", "origin", "challenge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pk = sandbox_env.challenge_pk("me/new-challenge")
    assert pk is not None, proc.stdout + proc.stderr
    assert f"created challenge {pk}: " in proc.stdout + proc.stderr


def test_pre_commit_install_sets_both_hook_types(
    tmp_path: Path, run_cli: RunCli, hook_repo: tuple[Path, str]
) -> None:
    path, sha = hook_repo
    dest = tmp_path / "h"
    assert run_cli(["init", str(dest), "--hooks-repo", str(path), "--hooks-rev", sha]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=dest, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = dest / ".git" / "hooks"
    for name in ("pre-commit", "pre-push"):
        assert "pre-commit" in (hooks / name).read_text()


@pytest.mark.slow
def test_the_validate_hook_passes_on_a_fresh_repository(
    tmp_path: Path, run_cli: RunCli, hook_repo: tuple[Path, str]
) -> None:
    if not (PROJECT_ROOT / "evalai_mirror" / "commands" / "validate.py").exists():
        pytest.skip("the validate command is not written yet")
    path, sha = hook_repo
    dest = tmp_path / "h"
    assert run_cli(["init", str(dest), "--hooks-repo", str(path), "--hooks-rev", sha]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "evalai-validate", "--all-files"],
        cwd=dest, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


# -- packaging ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_wheel_carries_the_template(tmp_path: Path, hook_repo: tuple[Path, str]) -> None:
    """A non-editable build ships every template file (package data, dot files included)."""
    path, _sha = hook_repo
    out = tmp_path / "wheel"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(path)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = list(out.glob("evalai_mirror-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"evalai_mirror/templates/challenge/{p}" for p in EXPECTED_FILES}
    expected |= {f"evalai_mirror/templates/workflows/{n}" for n in scaffold.WORKFLOW_NAMES}
    assert expected <= names
