"""`evalai-mirror share`: publish this branch's sync base to ``refs/evalai-mirror/<branch>``
on origin now.

Pull, resolve and adopt share the base they moved themselves.  A push (typed, or run by a git
hook) leaves it to this command, started in the background once EvalAI has answered, so that
neither the person nor the ``git push`` waits for a second round trip to the git remote; what
it prints goes to ``.git/evalai-mirror/share.log``, and when it reports trouble the next push
shares in the foreground, where the warning shows.  Run it by hand after a warning that the
shared sync state was not pushed.
"""

from __future__ import annotations

import argparse

from evalai_mirror import sync, ui


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--branch", metavar="NAME", help="the branch whose base to share "
                        "(default: the current one)")
    parser.add_argument("--remote", metavar="NAME", help="the remote to share it through "
                        "(default: origin)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only warnings and errors")
    parser.add_argument("--why", default="share", help=argparse.SUPPRESS)  # the commit message


def run(args: argparse.Namespace) -> int:
    ctx = sync.open_context(args, branch=args.branch, warn_leaks=False)
    try:
        if args.remote:
            ctx.use_remote(args.remote)
        sha = ctx.publish_state(args.why)
        if ctx.link.warned:
            return 1
        if not args.quiet:
            done = (f"shared the sync base on {ctx.link.remote} as {ctx.link.ref} ({sha[:7]})"
                    if sha else f"nothing new to share ({ctx.link.remote} has this base)")
            ui.out(f"{ctx.branch}: {done}")
        return 0
    finally:
        ctx.close()
