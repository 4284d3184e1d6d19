"""``evalai-mirror validate``: check challenge_config.yaml offline, as EvalAI's server would.

Prints one line per problem, ``challenge_config.yaml:LINE: <EvalAI's message>``, then a summary;
exits 0 when EvalAI would accept the configuration and 1 when it would not.  ``--format json``
prints ``{valid, problems}``; ``--format github`` prints each problem as a GitHub Actions
annotation (``::error file=...,line=...::message``) for a pull request's files.  ``--remote``
asks the EvalAI server's validate endpoint instead, which also stores the zip as an existing
challenge's configuration: on a terminal it asks first (``--yes`` does not), elsewhere it says
so before uploading.  Kept light: no git or HTTP imports
unless ``--remote`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from evalai_mirror import ghactions, ui, validate
from evalai_mirror.errors import BadRequestError, MirrorError, SettingsError, UsageError
from evalai_mirror.source import WorkTreeSource

FORMATS = ("text", "json", "github")
ANNOTATION_TITLE = "EvalAI would refuse this configuration"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="the challenge repository or its challenge_config.yaml (default: found from the "
        "current directory upwards)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default); json: {valid, problems}; github: each problem as a GitHub "
        "Actions annotation on its file and line (::error file=...,line=...::message), for a "
        "workflow",
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument(
        "--remote",
        action="store_true",
        help="ask the EvalAI server's validate endpoint instead of checking offline (host, "
        "token and team as for push: EVALAI_HOST_URL, EVALAI_AUTH_TOKEN, EVALAI_TEAM_PK or "
        "github/host_config.json). It uploads the whole zip, which EvalAI also stores as an "
        "existing challenge's configuration: on a terminal it asks first (see --yes)",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="with --remote, upload without asking first (EvalAI stores the uploaded zip as "
        "an existing challenge's configuration)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing when valid (for hooks); the problems otherwise"
    )


def _configs_in(folder: Path) -> list[str]:
    return [name for name in validate.CONFIG_NAMES if (folder / name).is_file()]


def find_config(path: str | None, cwd: Path | None = None) -> tuple[Path, list[str]]:
    """The challenge root and the config file names found in it."""
    start = Path(cwd or os.getcwd())
    if path:
        target = (start / path).resolve()
        if target.is_file():
            return target.parent, [target.name]
        if not target.is_dir():
            raise UsageError(
                f"{path} does not exist",
                hint="pass the challenge repository folder or its challenge_config.yaml",
            )
        names = _configs_in(target)
        if not names:
            raise UsageError(
                f"there is no challenge_config.yaml in {path}",
                hint="pass the challenge repository folder (EvalAI-Starters layout)",
            )
        return target, names
    for folder in (start.resolve(), *start.resolve().parents):
        names = _configs_in(folder)
        if names:
            return folder, names
    raise UsageError(
        f"no challenge_config.yaml in {start} or any folder above it",
        hint="run this inside the challenge repository, or pass its path",
    )


def _show(problem: validate.Problem, root: Path) -> None:
    shown = os.path.relpath(root / problem.path)
    where = f"{shown}:{problem.line}: " if problem.line else f"{shown}: "
    lines = [line.rstrip() for line in problem.message.strip("\n").split("\n")]
    ui.out(where + lines[0])
    for extra in lines[1:]:
        ui.out("    " + extra.strip())
    if problem.hint:
        ui.out(ui.colour(f"    hint: {problem.hint}", "dim"))


def github_lines(problems: list[validate.Problem], root: Path) -> list[str]:
    """One ``::error`` workflow command per problem, on its file (relative to the checkout)
    and line; the hint follows the message."""
    lines = []
    for problem in problems:
        message = problem.message.strip("\n")
        if problem.hint:
            message += f"\nhint: {problem.hint}"
        lines.append(
            ghactions.command(
                "error",
                message,
                file=ghactions.workspace_path(str(root / problem.path)),
                line=problem.line,
                title=ANNOTATION_TITLE,
            )
        )
    return lines


def _warn_links_out(root: Path, config: str) -> None:
    """Say which files of the evaluation script are links that lead out of the repository:
    EvalAI never gets them (the zip leaves them out, as a commit's tree does)."""
    import posixpath

    script = posixpath.join(posixpath.dirname(config), "evaluation_script")
    for path, target in WorkTreeSource(root).links_out(script).items():
        ui.warn(
            f"{path} is a link to {target}, outside the repository, so it is left out of the "
            "zip EvalAI gets; copy the file into the repository instead"
        )


def _offline(root: Path, names: list[str], args: argparse.Namespace) -> int:
    if len(names) > 1:
        problems = [
            validate.Problem(
                validate.MULTIPLE_YAML.format(len(names)),
                names[0],
                None,
                hint="keep only challenge_config.yaml",
            )
        ]
    else:
        problems = validate.validate_source(WorkTreeSource(root), names[0])
    _warn_links_out(root, names[0])
    if args.format == "json":
        ui.out(
            json.dumps(
                {"valid": not problems, "problems": [p._asdict() for p in problems]}, indent=2
            )
        )
        return 1 if problems else 0
    if args.format == "github":
        for line in github_lines(problems, root):
            ui.out(line)
    else:
        for problem in problems:
            _show(problem, root)
    config = os.path.relpath(root / names[0])
    if problems:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        verdict = (
            "evalai-mirror will not read this configuration (a limit of its own)"
            if all(p.ours for p in problems)
            else "EvalAI would refuse this configuration"
        )
        ui.out(f"{config}: {count} {noun}; {verdict}.")
    elif not args.quiet:
        ui.out(f"{config}: valid (checked offline against EvalAI's rules).")
        ui.out(ui.colour("note: what only the server can check:", "dim"))
        for limit in validate.OFFLINE_LIMITS:
            ui.out(ui.colour(f"  - {limit}", "dim"))
    return 1 if problems else 0


def _remote(root: Path, args: argparse.Namespace) -> int:
    from evalai_mirror import settings as settings_mod
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.zipbuild import challenge_zip_file

    resolved = settings_mod.resolve(args, cwd=root)
    repository = resolved.repo.repository
    if not repository:
        from evalai_mirror.git import GitRepo

        try:
            repository = GitRepo.open(root).origin_repository()
        except MirrorError:
            repository = None
    if not repository:
        raise SettingsError(
            "the repository identity (owner/name) is unknown",
            hint="set `repository: owner/name` in .evalai-mirror.yml or add a GitHub origin remote",
        )
    connection = resolved.connection()
    what = (
        f"validate --remote uploads this working copy's challenge zip to {connection.host_url}, "
        f"and if EvalAI has a challenge for {repository} it also stores the zip as that "
        "challenge's configuration, overwriting the one it keeps (the offline check, without "
        "--remote, sends nothing)"
    )
    if ui.interactive() and not args.yes:
        ui.out(what + ".")
        if ui.ask("Upload it?", {"y": "yes, upload", "n": "no"}, "n") != "y":
            ui.out("Nothing was uploaded.")
            return 1
    else:
        ui.warn(what + "; uploading it now.")
    client = EvalAIClient(connection)
    try:
        with challenge_zip_file(WorkTreeSource(root)) as zip_file:
            message = client.validate_zip(zip_file, repository)
    finally:
        client.close()
    if args.format == "json":
        ui.out(json.dumps({"valid": True, "problems": [], "server": message}, indent=2))
    else:
        ui.out(message)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.json:
        if args.format not in ("text", "json"):
            raise UsageError(
                f"--json and --format {args.format} ask for two formats", hint="drop one"
            )
        args.format = "json"
    root, names = find_config(args.path)
    if args.remote:
        try:
            return _remote(root, args)
        except BadRequestError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            text = str(body.get("error") or exc.message)
            problem = validate.Problem(text, names[0], None)
            if args.format == "json":
                ui.out(json.dumps({"valid": False, "problems": [problem._asdict()]}, indent=2))
            elif args.format == "github":
                for line in github_lines([problem], root):
                    ui.out(line)
            else:
                for line in text.strip("\n").split("\n"):
                    ui.out(f"{names[0]}: {line.strip()}")
            return 1
    return _offline(root, names, args)
