"""`evalai-mirror install-hooks`: put the plain git hooks into this repository (or take them out).

By default pre-commit (validate) and pre-push (send to EvalAI at ``git push``); post-commit,
which sends each commit as soon as it is made, only with ``--post-commit`` or ``--hook``.  The
hooks run evalai-mirror with the Python running this command.
"""

from __future__ import annotations

import argparse
import sys

from evalai_mirror import ui


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from evalai_mirror.hooks import ALL, DEFAULT

    parser.add_argument(
        "--chain",
        action="store_true",
        help="keep a hook that is already there as <hook>.local and run it before ours",
    )
    parser.add_argument(
        "--uninstall",
        action="store_true",
        help="remove evalai-mirror's hooks (and put chained ones back)",
    )
    parser.add_argument(
        "--hook",
        dest="hooks",
        action="append",
        choices=ALL,
        metavar="NAME",
        help=f"only this hook ({', '.join(ALL)}); repeat for several (default: "
        f"{' and '.join(DEFAULT)}; with --uninstall, all of evalai-mirror's)",
    )
    parser.add_argument(
        "--post-commit",
        action="store_true",
        help="also install the post-commit hook, which sends each commit to EvalAI as soon "
        "as it is made (not only at git push)",
    )


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import hooks
    from evalai_mirror.git import GitRepo

    repo = GitRepo.open(".")
    folder = repo.hooks_dir()
    if args.uninstall:
        names = tuple(args.hooks) if args.hooks else hooks.ALL
        removed = hooks.uninstall(repo, hooks=names)
        for name in removed:
            ui.out(f"removed {folder / name}")
        if not removed:
            ui.out(f"no evalai-mirror hooks in {folder}")
        for name, kind in hooks.installed(repo).items():
            if name in names and kind not in (hooks.MISSING, hooks.OURS):
                ui.out(f"kept {folder / name} ({kind})")
        return 0
    names = tuple(args.hooks) if args.hooks else hooks.DEFAULT
    if args.post_commit:
        names = (*names, "post-commit")
    before = hooks.installed(repo)
    done = hooks.install(repo, chain=args.chain, hooks=names)
    for name in dict.fromkeys(names):
        if name not in done:
            ui.out(f"left {folder / name} as it is: pre-commit runs {hooks.FRAMEWORK_ID[name]} "
                   f"there already ({hooks.PRE_COMMIT_CONFIG})")
    for name in done:
        local = folder / (name + hooks.LOCAL_SUFFIX)
        if before[name] not in (hooks.MISSING, hooks.OURS):
            ui.out(f"installed {folder / name} (the {before[name]} hook now runs first, as {local.name})")
        elif before[name] == hooks.OURS:
            ui.out(f"updated {folder / name}")
        else:
            ui.out(f"installed {folder / name}")
    if done:
        ui.out(f"the hooks run evalai-mirror with {sys.executable}")
    return 0
