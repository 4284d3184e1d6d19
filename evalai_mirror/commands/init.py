"""``evalai-mirror init``: a new challenge repository in the EvalAI-Starters layout."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from evalai_mirror import scaffold, settings, ui


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the folder to create (it must be new or empty; default: the current folder)",
    )
    parser.add_argument(
        "--title", help="the challenge's title in challenge_config.yaml (at most 100 characters)"
    )
    parser.add_argument(
        "--branch",
        default=scaffold.DEFAULT_BRANCH,
        help="the first branch (default: %(default)s; EvalAI-Starters syncs challenge and "
        "challenge-*)",
    )
    parser.add_argument(
        "--github-actions",
        action="store_true",
        help=f"also write the GitHub Actions workflows in {scaffold.WORKFLOWS_DIR}/: each push "
        "to a challenge branch is sent to EvalAI (evalai-mirror push), each pull request is "
        "validated (problems as annotations), and edits made on EvalAI are pulled every 30 "
        "minutes; the base they share travels in refs/evalai-mirror/*, not the Actions cache",
    )
    parser.add_argument(
        "--hooks-repo",
        metavar="URL",
        help="have .pre-commit-config.yaml fetch evalai-mirror's hooks from this git "
        "repository (with --hooks-rev) instead of running the evalai-mirror installed on "
        "the machine (the default: repo: local)",
    )
    parser.add_argument(
        "--hooks-rev",
        metavar="REV",
        help="the tag or commit of --hooks-repo to use",
    )
    parser.add_argument(
        "--no-commit",
        dest="commit",
        action="store_false",
        help="run git init but leave the files uncommitted",
    )


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return "." if rel == "." else shlex.quote(rel if not rel.startswith("..") else str(path))


def github_actions_step(branch: str) -> str:
    """What to set up on GitHub for the bundled workflows."""
    return (
        "on GitHub (Settings -> Secrets and variables -> Actions), add the secret "
        "EVALAI_AUTH_TOKEN and the variables EVALAI_HOST_URL and EVALAI_TEAM_PK for "
        f"{scaffold.WORKFLOWS_DIR}/evalai-mirror-*.yml, and make {branch} the default branch "
        "(scheduled workflows run from it)"
    )


def run(args: argparse.Namespace) -> int:
    options = scaffold.Options(
        title=args.title,
        branch=args.branch,
        github_actions=args.github_actions,
        hooks_repo=args.hooks_repo,
        hooks_rev=args.hooks_rev,
    )
    created = scaffold.create(Path(args.directory), options, commit=args.commit)
    where = _shown(created.root)
    if created.commit:
        ui.out(
            f"Created the challenge repository in {where} on branch {options.branch} "
            f"(commit {created.commit[:7]}, {len(created.files)} files)."
        )
    else:
        ui.out(
            f"Created the challenge files in {where} (git repository on branch "
            f"{options.branch}, nothing committed yet)."
        )
    if not settings.RepoSettings().branch_syncs(options.branch):  # the default branches
        ui.warn(
            f"branch {options.branch!r} is not named challenge or challenge-*: evalai-mirror "
            "and EvalAI-Starters do not sync it unless .evalai-mirror.yml lists it under branches"
        )
    steps = []
    if where != ".":
        steps.append(f"cd {where}")
    steps.append(
        "edit challenge_config.yaml and templates/*.html, then check them: evalai-mirror validate"
    )
    if not created.commit:
        steps.append('commit the files: git add -A && git commit -m "Create the challenge"')
    steps += [
        "set your EvalAI credentials (never in github/host_config.json, which is committed): "
        "export EVALAI_HOST_URL=https://eval.ai EVALAI_TEAM_PK=<host team id> "
        "EVALAI_AUTH_TOKEN=<token from your EvalAI profile>",
        "install the hooks: pre-commit install   (pip install pre-commit first if you have "
        "not; its hooks run the evalai-mirror on PATH) or, without pre-commit: "
        "evalai-mirror install-hooks (its hooks remember this Python)",
        "add your GitHub repository and push the first time: git remote add origin <url> && "
        f"git push -u origin {options.branch}",
        "check the whole setup: evalai-mirror doctor",
    ]
    if options.github_actions:
        steps.append(github_actions_step(options.branch))
    ui.out("")
    ui.out("Next steps:")
    for number, step in enumerate(steps, 1):
        ui.out(f"  {number}. {step}")
    return 0
