"""`evalai-mirror install-hooks`: put the plain git hooks into this repository (or take them out)."""

from __future__ import annotations

import argparse

from evalai_mirror import ui


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from evalai_mirror.hooks import ALL

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
        help=f"only this hook ({', '.join(ALL)}); repeat for several (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import hooks
    from evalai_mirror.git import GitRepo

    repo = GitRepo.open(".")
    names = tuple(args.hooks) if args.hooks else hooks.ALL
    folder = repo.hooks_dir()
    if args.uninstall:
        removed = hooks.uninstall(repo, hooks=names)
        for name in removed:
            ui.out(f"removed {folder / name}")
        if not removed:
            ui.out(f"no evalai-mirror hooks in {folder}")
        for name, kind in hooks.installed(repo).items():
            if name in names and kind not in (hooks.MISSING, hooks.OURS):
                ui.out(f"kept {folder / name} ({kind})")
        return 0
    before = hooks.installed(repo)
    for name in hooks.install(repo, chain=args.chain, hooks=names):
        local = folder / (name + hooks.LOCAL_SUFFIX)
        if before[name] not in (hooks.MISSING, hooks.OURS):
            ui.out(f"installed {folder / name} (the {before[name]} hook now runs first, as {local.name})")
        elif before[name] == hooks.OURS:
            ui.out(f"updated {folder / name}")
        else:
            ui.out(f"installed {folder / name}")
    return 0
