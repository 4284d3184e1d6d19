"""The bundled GitHub Actions workflows: parsed (triggers, permissions, the commands they run),
then run as a runner would, in a fresh clone of a bare repository standing in for GitHub, against
the sandbox over real HTTP.

A runner is emulated as GitHub's runs it: ``actions/checkout`` is a fresh clone with the pushed
branch checked out (``git checkout -B <branch> <sha>``); every ``run:`` step is a ``bash -e``
script in that clone with the step's ``env`` (``${{ secrets.* }}``, ``${{ vars.* }}`` and
``${{ github.* }}`` filled in) and GitHub's own variables (``GITHUB_ACTIONS``, ``GITHUB_SHA``,
``GITHUB_REF_NAME``, ``GITHUB_STEP_SUMMARY``...).  Only the ``pip install`` step is skipped: the
evalai-mirror under test is already on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPOSITORY, RunCli, changes, commit_all, git, set_title

from evalai_mirror import PIP_SPEC, ghactions, scaffold

PUSH, VALIDATE, PULL = scaffold.WORKFLOW_PATHS
BRANCHES = ["challenge", "challenge-*"]
_EXPR = re.compile(r"\$\{\{\s*([a-z_]+)\.([A-Za-z_]+)\s*\}\}")


def load(text: str) -> dict[str, Any]:
    workflow = yaml.safe_load(text)
    assert isinstance(workflow, dict)
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as True
    return workflow


def rendered(branch: str = "challenge") -> dict[str, dict[str, Any]]:
    return {path: load(text) for path, text in scaffold.render_workflows(branch).items()}


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def runs(workflow: dict[str, Any]) -> list[str]:
    return [s["run"].strip() for s in steps_of(workflow) if "run" in s]


# -- what the files say -------------------------------------------------------------------------


def test_the_push_workflow_sends_each_push_to_a_challenge_branch() -> None:
    workflow = rendered()[PUSH]
    assert workflow["on"] == {"push": {"branches": BRANCHES}}
    assert workflow["permissions"] == {"contents": "write"}  # it pushes the base ref
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert runs(workflow)[-1] == 'evalai-mirror push --branch "$GITHUB_REF_NAME" "$GITHUB_SHA"'
    [push] = [s for s in steps_of(workflow) if "evalai-mirror push" in s.get("run", "")]
    assert push["env"] == {
        "EVALAI_AUTH_TOKEN": "${{ secrets.EVALAI_AUTH_TOKEN }}",
        "EVALAI_HOST_URL": "${{ vars.EVALAI_HOST_URL }}",
        "EVALAI_TEAM_PK": "${{ vars.EVALAI_TEAM_PK }}",
    }


def test_the_pull_request_workflow_validates_with_annotations_and_no_secret() -> None:
    workflow = rendered()[VALIDATE]
    assert workflow["on"] == {"pull_request": {"branches": BRANCHES}}
    assert workflow["permissions"] == {"contents": "read"}
    assert runs(workflow)[-1] == "evalai-mirror validate --format github"
    assert "secrets." not in scaffold.render_workflows("challenge")[VALIDATE]


def test_the_scheduled_pull_stays_and_keeps_nothing_in_the_actions_cache() -> None:
    workflow = rendered("challenge-x")[PULL]
    assert workflow["on"]["schedule"] == [{"cron": "*/30 * * * *"}]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "write"}
    assert workflow["concurrency"]["group"] == "evalai-mirror-challenge-x"
    checkout = steps_of(workflow)[0]
    assert checkout["with"] == {"ref": "challenge-x", "fetch-depth": 0}
    assert runs(workflow)[-1] == "evalai-mirror pull --commit --git-push"


@pytest.mark.parametrize("path", scaffold.WORKFLOW_PATHS)
def test_every_workflow_fetches_no_cache_installs_what_exists_and_prints_no_token(path: str) -> None:
    text = scaffold.render_workflows("challenge")[path]
    workflow = load(text)
    uses = [s["uses"] for s in steps_of(workflow) if "uses" in s]
    assert not any(u.startswith("actions/cache") for u in uses)
    assert uses[0].startswith("actions/checkout@")
    # what works today (evalai-mirror is not on PyPI yet), said in one place
    assert f'python -m pip install "{PIP_SPEC}"' in runs(workflow)
    if path != VALIDATE:  # the ones that compare with EvalAI start from the shared base
        assert "git fetch --no-tags origin '+refs/evalai-mirror/*:refs/evalai-mirror/*'" in runs(
            workflow
        )
    for step in steps_of(workflow):  # the token only ever reaches a step through env
        assert "secrets." not in step.get("run", "")
    assert not re.search(r"__[A-Z]+__", text)


def test_a_branch_the_patterns_miss_is_added_to_the_filters() -> None:
    workflow = rendered("main")[PUSH]
    assert workflow["on"]["push"]["branches"] == [*BRANCHES, "main"]


def test_init_writes_the_three_workflows(tmp_path: Path, run_cli: RunCli) -> None:
    dest = tmp_path / "g"
    assert run_cli(["init", str(dest), "--github-actions"]) == 0
    tracked = set(git(dest, "ls-files").split())
    assert set(scaffold.WORKFLOW_PATHS) <= tracked
    for path, text in scaffold.render_workflows("challenge").items():
        assert (dest / path).read_text(encoding="utf-8") == text


# -- the runner ---------------------------------------------------------------------------------


class Runner:
    """A fresh checkout of ``branch`` at ``sha`` from the bare ``origin``, as a GitHub runner
    makes for a push or pull request, that runs the workflow's ``run:`` steps."""

    def __init__(self, tmp: Path, origin: Path, branch: str, secrets: dict[str, str]) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.dir = tmp / "runner"
        self.branch = branch
        self.secrets = secrets
        git(tmp, "clone", "-q", "--no-checkout", str(origin), str(self.dir))
        self.sha = git(self.dir, "rev-parse", f"origin/{branch}").strip()
        git(self.dir, "checkout", "-q", "--force", "-B", branch, f"refs/remotes/origin/{branch}")
        self.summary = tmp / "step-summary.md"

    def _fill(self, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            scope, name = match.groups()
            if scope in ("secrets", "vars"):
                return self.secrets.get(name, "")
            if scope == "github" and name == "ref_name":
                return self.branch
            raise AssertionError(f"the test runner does not know ${{{{ {scope}.{name} }}}}")

        return _EXPR.sub(one, value)

    def run(self, path: str, text: str | None = None) -> list[subprocess.CompletedProcess[str]]:
        """Every ``run:`` step of the workflow at ``path`` (read from the checkout, or
        ``text``), in order, until one fails."""
        workflow = load(text if text is not None else (self.dir / path).read_text("utf-8"))
        done = []
        for step in steps_of(workflow):
            script = step.get("run")
            if script is None or "pip install" in script:
                continue
            env = {k: v for k, v in os.environ.items() if not k.startswith("EVALAI_")}
            env.update(
                PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
                GITHUB_ACTIONS="true",
                GITHUB_REF_NAME=self.branch,
                GITHUB_SHA=self.sha,
                GITHUB_WORKSPACE=str(self.dir),
                GITHUB_STEP_SUMMARY=str(self.summary),
            )
            env.update({k: self._fill(str(v)) for k, v in (step.get("env") or {}).items()})
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=self.dir, env=env, capture_output=True, text=True, check=False,
            )
            done.append(proc)
            if proc.returncode != 0:
                break
        return done


def secrets_of(sandbox: Any) -> dict[str, str]:
    env = sandbox.env()
    return {k: env[k] for k in ("EVALAI_AUTH_TOKEN", "EVALAI_HOST_URL", "EVALAI_TEAM_PK")}


def with_workflows(repo: Path) -> None:
    """Commit the bundled workflows into ``repo`` and push them to origin (hooks skipped)."""
    for path, text in scaffold.render_workflows("challenge").items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    commit_all(repo, "Add the evalai-mirror workflows")
    git(repo, "push", "-q", "--no-verify", "origin", "challenge")


def origin_of(repo: Path) -> Path:
    return Path(git(repo, "remote", "get-url", "origin").strip())


def test_the_push_workflow_creates_the_challenge_from_a_runner_clone(
    challenge_repo: Path, sandbox: Any, tmp_path: Path
) -> None:
    with_workflows(challenge_repo)
    runner = Runner(tmp_path, origin_of(challenge_repo), "challenge", secrets_of(sandbox))
    procs = runner.run(PUSH)
    last = procs[-1]
    assert last.returncode == 0, last.stdout + last.stderr
    assert "created challenge" in last.stdout
    assert sandbox.challenge_pk(REPOSITORY) is not None
    assert sandbox.token not in "".join(p.stdout + p.stderr for p in procs)


def test_a_refusal_fails_the_run_with_the_text_and_a_link_to_the_fields(
    challenge_repo: Path, sandbox_challenge: tuple[Any, int], tmp_path: Path
) -> None:
    """EvalAI's title was edited; a commit that also changes the title reaches GitHub without
    the hooks: the push workflow refuses, and the run says why, on its page too."""
    sandbox, pk = sandbox_challenge
    sandbox.edit_challenge(pk, title="Renamed on EvalAI")
    with_workflows(challenge_repo)
    set_title(challenge_repo, "Renamed in the repository")
    commit_all(challenge_repo, "New title")
    git(challenge_repo, "push", "-q", "--no-verify", "origin", "challenge")

    runner = Runner(tmp_path, origin_of(challenge_repo), "challenge", secrets_of(sandbox))
    last = runner.run(PUSH)[-1]
    assert last.returncode == 1
    assert "error: " in last.stderr and "title" in last.stderr
    annotation, *on_fields = [x for x in last.stdout.splitlines() if x.startswith("::error")]
    assert annotation.startswith("::error title=evalai-mirror push refused::")
    assert "title" in annotation and ghactions.FIELDS_URL in annotation
    # and each refused field on its line of challenge_config.yaml
    lines = (challenge_repo / "challenge_config.yaml").read_text().splitlines()
    title_line = 1 + next(i for i, x in enumerate(lines) if x.startswith("title:"))
    assert on_fields == [
        f"::error file=challenge_config.yaml,line={title_line},title=evalai-mirror push "
        "refused::title: differs from EvalAI's, with no sync history to tell which side "
        "changed it"
    ]
    summary = runner.summary.read_text(encoding="utf-8")
    assert "evalai-mirror push refused" in summary and ghactions.FIELDS_URL in summary
    assert sandbox.get_challenge(pk)["title"] == "Renamed on EvalAI"  # nothing overwritten
    assert sandbox.token not in last.stdout + last.stderr + summary


def test_the_pull_request_workflow_annotates_each_problem_on_its_file_and_line(
    challenge_repo: Path, tmp_path: Path
) -> None:
    with_workflows(challenge_repo)
    git(challenge_repo, "switch", "-q", "-c", "challenge-broken")
    set_title(challenge_repo, '""')
    config = challenge_repo / "challenge_config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("description: templates/description.html",
                                   "description: templates/missing.html"), encoding="utf-8")
    commit_all(challenge_repo, "Break the config")
    git(challenge_repo, "push", "-q", "--no-verify", "origin", "challenge-broken")

    runner = Runner(tmp_path, origin_of(challenge_repo), "challenge-broken", {})
    last = runner.run(VALIDATE)[-1]
    assert last.returncode == 1
    annotations = [line for line in last.stdout.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 2, last.stdout
    lines = {
        int(m.group(1))
        for a in annotations
        if (m := re.match(r"::error file=challenge_config\.yaml,line=(\d+),title=", a))
    }
    title_line = 1 + text.splitlines().index(
        next(line for line in text.splitlines() if line.startswith("title:"))
    )
    assert title_line in lines and len(lines) == 2


# -- the shared base: a runner starts from what every clone agreed on ---------------------------


def remote_ref(origin: Path, branch: str = "challenge") -> str:
    return git(origin, "rev-parse", "-q", "--verify", f"refs/evalai-mirror/{branch}",
               check=False).strip()


def test_a_commit_that_skipped_the_hooks_is_sent_by_the_push_workflow_field_by_field(
    challenge_repo: Path, sandbox_env: Any, run_cli: RunCli, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Clone A creates the challenge (its base goes to origin); a title edit reaches GitHub
    with the hooks skipped; the push workflow, in a fresh runner clone with no state of its
    own, sends the title alone, and moves the shared base for everyone."""
    sandbox: Any = sandbox_env
    with_workflows(challenge_repo)
    assert run_cli(["push"], cwd=challenge_repo) == 0
    origin = origin_of(challenge_repo)
    first_base = remote_ref(origin)
    assert first_base  # the first push shared its base
    pk = sandbox.challenge_pk(REPOSITORY)
    set_title(challenge_repo, "Renamed on GitHub's web editor")
    commit_all(challenge_repo, "New title")
    git(challenge_repo, "push", "-q", "--no-verify", "origin", "challenge")
    sandbox.clear_requests()

    runner = Runner(tmp_path, origin, "challenge", secrets_of(sandbox))
    last = runner.run(PUSH)[-1]
    assert last.returncode == 0, last.stdout + last.stderr
    assert sandbox.get_challenge(pk)["title"] == "Renamed on GitHub's web editor"
    [(method, path)] = changes(sandbox)  # one request: the challenge PATCH of the title
    assert method == "PATCH" and path.endswith(f"/challenge/{pk}")
    assert "fields: title" in last.stdout
    moved = remote_ref(origin)
    assert moved and moved != first_base  # the base moved, for every clone

    # the same commit pushed again (a re-run of the job) sends nothing
    sandbox.clear_requests()
    again = Runner(tmp_path / "again", origin, "challenge", secrets_of(sandbox))
    last = again.run(PUSH)[-1]
    assert last.returncode == 0, last.stdout + last.stderr
    assert changes(sandbox) == []


def test_the_scheduled_pull_commits_evalai_s_edit_from_a_runner_clone(
    challenge_repo: Path, sandbox_env: Any, run_cli: RunCli, tmp_path: Path
) -> None:
    sandbox: Any = sandbox_env
    with_workflows(challenge_repo)
    assert run_cli(["push"], cwd=challenge_repo) == 0
    origin = origin_of(challenge_repo)
    pk = sandbox.challenge_pk(REPOSITORY)
    sandbox.edit_challenge(pk, short_description="Edited on EvalAI's page")
    before = remote_ref(origin)

    runner = Runner(tmp_path, origin, "challenge", secrets_of(sandbox))
    last = runner.run(PULL)[-1]
    assert last.returncode == 0, last.stdout + last.stderr
    assert git(origin, "log", "-1", "--format=%s", "challenge").strip() == (
        "evalai_bot: Update short_description"
    )
    assert remote_ref(origin) != before  # the pull shared the base it moved
    git(challenge_repo, "pull", "-q", "--no-rebase", "origin", "challenge")
    assert "Edited on EvalAI's page" in (challenge_repo / "challenge_config.yaml").read_text()
    assert run_cli(["status"], cwd=challenge_repo) == 0  # clone A agrees, with no --prefer
