"""The command line edge: parse argv, run one command, turn errors into exit codes.

This is the only module that exits or prints errors.  Each command is a module in
:mod:`evalai_mirror.commands` with ``add_arguments(parser)`` and ``run(args) -> int``; only the
command being run is imported, so that a quick ``validate`` never pays for git or HTTP imports.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from evalai_mirror import __version__, progress, ui
from evalai_mirror.errors import MirrorError, RefusedError, UsageError

# name -> (module, one-line help).  Order is the order `--help` lists them in.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "check challenge_config.yaml offline, as EvalAI's server would"),
    "push": ("push", "send committed challenge changes to EvalAI (three-way, field by field)"),
    "pull": ("pull", "bring edits made on EvalAI into the working copy (three-way)"),
    "watch": ("watch", "poll EvalAI and watch the working copy, mirroring as pull does"),
    "status": ("status", "show, field by field, what is in sync, changed or in conflict"),
    "diff": ("diff", "show the differences between the repository and EvalAI"),
    "log": ("log", "list every sync in either direction, newest first"),
    "share": ("share", "publish this branch's sync base to refs/evalai-mirror/<branch> now"),
    "resolve": ("resolve", "settle a conflict by taking the local or the EvalAI value"),
    "doctor": ("doctor", "check host, token, team, challenge, config and hooks; suggest fixes"),
    "config": ("config", "print each resolved setting and where it came from (token redacted)"),
    "install-hooks": ("install_hooks", "install the plain git hooks into this repository"),
    "init": ("init", "create a new challenge repository in the EvalAI-Starters layout"),
    "adopt": (
        "adopt",
        "take over an EvalAI-Starters repository: its workflow, a committed token, the first base",
    ),
    "demo": ("demo", "run the whole two-way sync against a local sandbox, step by step"),
    "sandbox": ("sandbox", "run a local EvalAI-compatible server on 127.0.0.1"),
    "webhook": ("webhook", "install, inspect or remove the GitHub push webhook to EvalAI"),
}


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command:
    module = importlib.import_module(f"evalai_mirror.commands.{COMMANDS[name][0]}")
    return cast(_Command, module)


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the command line, found without parsing it fully."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "-C":
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg if arg in COMMANDS else None
    return None


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width by :func:`ui.columns`: argparse makes
    one for every argument a parser is given, and its own way to find the width imports
    shutil (with the compression modules) into every command."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        width = ui.columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="evalai-mirror",
        description=(
            "Keep an EvalAI challenge repository and an EvalAI server in sync, both ways. "
            "Each side's edits flow to the other; edits of the same field on both sides are "
            "reported as conflicts, never overwritten."
        ),
    )
    parser.add_argument("--version", action="version", version=f"evalai-mirror {__version__}")
    parser.add_argument(
        "-C",
        dest="chdir",
        metavar="DIR",
        help="run as if started in DIR",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen(argv)
    # A hook runs one command: only its parser is built, unless help is asked for (which
    # lists them all) or no command is named (the error lists them).
    listing = chosen is None or any(arg in ("-h", "--help") for arg in argv)
    for name, (_module, help_text) in COMMANDS.items():
        if name != chosen and not listing:
            continue
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text,
                                    formatter_class=_Formatter)
        if name == chosen:
            _load(name).add_arguments(cmd_parser)
    return parser


def _crash_log_path() -> str:
    explicit = os.environ.get("EVALAI_MIRROR_LOG")
    if explicit:
        return explicit
    from evalai_mirror.fsutil import cache_dir

    return str(cache_dir() / "evalai-mirror.log")


def _scrub(argv: Sequence[str]) -> list[str]:
    """``argv`` with the value of ``--token`` hidden (it may not be registered yet)."""
    scrubbed: list[str] = []
    for arg in argv:
        if scrubbed and scrubbed[-1] == "--token":
            arg = ui.REDACTED
        elif arg.startswith("--token="):
            arg = "--token=" + ui.REDACTED
        scrubbed.append(arg)
    return scrubbed


def _report_crash(exc: BaseException, argv: Sequence[str]) -> str:
    import traceback

    path = _crash_log_path()
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = ui.redact(f"evalai-mirror {__version__} {_scrub(argv)!r}\n{trace}\n")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        return ""
    return path


def _chdir(folder: str) -> None:
    try:
        os.chdir(folder)
    except OSError as exc:
        raise UsageError(
            f"-C {folder}: {exc.strerror or 'cannot change into it'}",
            hint="pass an existing folder, e.g. the challenge repository",
        ) from exc


def _annotate(command: str, exc: MirrorError) -> None:
    """In a GitHub Actions run, the same error as an annotation on the run (and in the job
    summary), so that a failed workflow says why on its page; a refusal links to the fields."""
    from evalai_mirror import ghactions

    if not ghactions.active():
        return
    text = str(exc)
    if isinstance(exc, RefusedError):
        text += f"\nWhat each field is and where it lives: {ghactions.FIELDS_URL}"
    title = f"evalai-mirror {command} " + (
        "refused" if isinstance(exc, RefusedError) else "failed"
    )
    ui.out(ghactions.command("error", text, title=title))
    for key, path, line, why in getattr(exc, "places", []):
        ui.out(ghactions.command("error", f"{key}: {why}", file=path, line=line, title=title))
    ghactions.add_summary(f"### {title}\n\n" + text.replace("\n", "\n\n"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code.

    A hook runs a whole process per command, so start-up and exit are part of its cost: the
    garbage collector is off while the command's modules load (loading them leaves no cycles to
    collect) and on while the command runs; at the end every object left is frozen, so that
    the interpreter's exit does not walk them all once more (only when ``argv`` is None: the
    process's own command line, the process ends next)."""
    gc.disable()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        gc.enable()
        if argv is None:
            gc.freeze()


def _main(args_list: list[str]) -> int:
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return 0
    try:
        if args.chdir:
            _chdir(args.chdir)
        command = _load(args.command)
        gc.enable()
        with progress.quieted(bool(getattr(args, "quiet", False))):
            return command.run(args)
    except MirrorError as exc:
        ui.err(ui.colour("error: ", "red", sys.stderr) + str(exc))
        _annotate(args.command, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        ui.err("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the last line of defence: never a traceback on the user
        if os.environ.get("EVALAI_MIRROR_DEBUG"):
            raise
        path = _report_crash(exc, args_list)
        where = f"; details are in {path}" if path else ""
        ui.err(
            f"error: evalai-mirror crashed ({type(exc).__name__}){where}. "
            "Please report it with that file; set EVALAI_MIRROR_DEBUG=1 to see the traceback."
        )
        return 3
