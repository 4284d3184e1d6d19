"""`evalai-mirror doctor`: the troubleshooting list as checks, each a pass or a fix.

Checks (see :mod:`evalai_mirror.checks`): challenge config at the root and valid, host URL not
plain http off this machine, settings complete, token expiry (read offline from the JWT),
EvalAI reachable, token accepted, membership of the host team, the challenge for this
repository and the branch that syncs it, git hooks, and no token in a file git tracks.
Read-only.  Exit 0 when no check fails (warnings included), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui

LABEL = {"pass": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
COLOUR = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    settings_mod.add_connection_arguments(parser)
    parser.epilog = "exit status: 0 when no check fails, 1 otherwise"


def run(args: argparse.Namespace) -> int:
    from evalai_mirror.checks import run_checks

    checks = run_checks(args)
    failed = [c for c in checks if c.status == "fail"]
    if getattr(args, "json", False):
        data = {"ok": not failed, "checks": [c.to_json() for c in checks]}
        ui.out(json.dumps(data, indent=2, sort_keys=True))
        return 1 if failed else 0
    width = max(len(c.name) for c in checks)
    for check in checks:
        label = ui.colour(f"{LABEL[check.status]:<4}", COLOUR[check.status])
        ui.out(f"{label}  {check.name:<{width}}  {check.message}")
        if check.fix:
            ui.out(f"      {'':<{width}}  fix: {check.fix}")
    ui.out()
    if failed:
        ui.out(f"{len(failed)} check(s) failed: " + ", ".join(c.name for c in failed))
        return 1
    ui.out("all checks passed")
    return 0
