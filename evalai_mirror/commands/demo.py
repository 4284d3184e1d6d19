"""``evalai-mirror demo``: the whole two-way sync, step by step, against a local sandbox.

It starts the sandbox on 127.0.0.1, makes a challenge repository with ``init``, installs the
hooks, pushes (which creates the challenge), edits the challenge on the sandbox as a host would
in EvalAI's web UI, pulls that edit back, shows ``status`` and ``git log``, and finally makes a
local edit that the pre-push hook sends.  Every step checks its own result, so the demo is also
an end-to-end test: it exits 1 when a step does not do what it says.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from evalai_mirror import ui
from evalai_mirror.detach import FOREGROUND
from evalai_mirror.errors import MirrorError, SyncError

if TYPE_CHECKING:
    from evalai_mirror.git import GitRepo
    from evalai_mirror.sandbox import SandboxServer

REPOSITORY = "demo-host/demo-challenge"
EDITED_TITLE = "Random Number Generator Challenge (renamed on EvalAI)"
LOCAL_PARAGRAPH = "<p>Added in the repository: submissions close at the end date, UTC.</p>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="make the demo repository here (it must be new or empty; default: a temporary "
        "folder, removed at the end unless --keep)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the sandbox's port (default: any free port)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the repository and the sandbox running afterwards, until Ctrl-C",
    )


class _Steps:
    """One line per step, with the sandbox's request figures since the last step."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.seen = 0

    def figures(self) -> str:
        records = self.sandbox.requests()[self.seen :]
        self.seen += len(records)
        if not records:
            return "no requests"
        sent = sum(r.bytes_in for r in records)
        received = sum(r.bytes_out for r in records)
        methods: dict[str, int] = {}
        for record in records:
            methods[record.method] = methods.get(record.method, 0) + 1
        kinds = ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
        plural = "s" if len(records) != 1 else ""
        return f"{len(records)} request{plural} ({kinds}), {_size(sent)} sent, {_size(received)} received"

    def line(self, name: str, text: str, *, figures: bool = True) -> None:
        tail = f"  [{self.figures()}]" if figures else ""
        ui.out(f"{ui.colour(f'{name:<13}', 'bold')}{text}{tail}")


def _size(count: int) -> str:
    return f"{count} B" if count < 2048 else f"{count / 1024:.1f} KiB"


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise SyncError(f"demo step failed: {what}", hint="please report this with the output above")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The demo's own process environment: the sandbox's credentials and a git identity,
    which the hooks that git runs inherit.  Restored afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_GIT_LINES = ("To ", "remote:", "*", "+", "-", "!", "[", "Everything up-to-date")
_GIT_REF_UPDATE = re.compile(r"^[0-9a-f]{4,}\.\.\.?[0-9a-f]{4,}\s")


def _hook_output(text: str) -> list[str]:
    """The lines evalai-mirror's hook printed during a git push (git's own lines dropped)."""
    keep = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(_GIT_LINES) and not _GIT_REF_UPDATE.match(line):
            keep.append(line)
    return keep


def run(args: argparse.Namespace) -> int:
    from evalai_mirror.sandbox import SandboxServer

    workdir = Path(args.dir).resolve() if args.dir else Path(
        tempfile.mkdtemp(prefix="evalai-mirror-demo-")
    )
    temporary = not args.dir
    sandbox = SandboxServer(workdir / ".sandbox-data" if not temporary else None, port=args.port)
    sandbox.start()
    try:
        env = {
            **sandbox.env(),
            "GIT_AUTHOR_NAME": "evalai-mirror demo",
            "GIT_AUTHOR_EMAIL": "demo@evalai-mirror.invalid",
            "GIT_COMMITTER_NAME": "evalai-mirror demo",
            "GIT_COMMITTER_EMAIL": "demo@evalai-mirror.invalid",
            # the hooks call evalai-mirror: make sure it is this one
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            # the hooks share the base before they return: nothing is left running in a
            # folder the demo deletes
            FOREGROUND: "1",
        }
        ui.register_secret(sandbox.token)
        with _environment(env):
            repo_dir = _run_steps(sandbox, workdir)
        if args.keep:
            ui.out("")
            ui.out(f"The repository is at {repo_dir}; the sandbox keeps running at {sandbox.url}.")
            ui.out("In another shell, to use it (the sandbox's throwaway token, shown on purpose):")
            ui.out(f"  cd {repo_dir}")
            for key, value in sandbox.env().items():
                ui.out(f"  export {key}={value}", reveal=True)
            ui.out("Press Ctrl-C to stop.")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                ui.out("stopped")
        return 0
    finally:
        sandbox.stop()
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_steps(sandbox: SandboxServer, workdir: Path) -> Path:
    from evalai_mirror import hooks, scaffold, sync, syncpull
    from evalai_mirror.git import GitRepo, init_bare

    steps = _Steps(sandbox)
    steps.line("sandbox", f"EvalAI sandbox listening on {sandbox.url} (host team {sandbox.team_pk})")

    repo_dir = workdir / "demo-challenge"
    created = scaffold.create(repo_dir, scaffold.Options())
    repo = GitRepo.open(repo_dir)
    steps.line(
        "init",
        f"challenge repository at {repo_dir} on branch {repo.current_branch()}: "
        f"{len(created.files)} files, first commit {(created.commit or '')[:7]}",
        figures=False,
    )

    names = hooks.install(repo, hooks=("pre-commit", "pre-push"))
    origin = init_bare(workdir / "remotes" / REPOSITORY.replace("/", os.sep)).with_suffix("")
    bare = origin.with_name(origin.name + ".git")
    if not bare.exists():
        origin.rename(bare)
    repo.add_remote("origin", str(bare))
    steps.line(
        "hooks",
        f"installed {', '.join(names)}; origin is a local bare repository standing in for "
        f"GitHub ({REPOSITORY})",
        figures=False,
    )

    output = repo.push("origin", "challenge")
    pk = sandbox.challenge_pk(REPOSITORY)
    _check(pk is not None, "the first git push did not create the challenge on EvalAI")
    assert pk is not None
    for line in _hook_output(output):
        ui.out(f"{'':13}hook: {line}")
    steps.line("git push", f"pre-push hook created challenge {pk} from the repository's zip")

    client_edit = _edit_on_evalai(sandbox, pk)
    steps.line("EvalAI edit", client_edit)

    ctx = sync.open_context(None, path=repo.root)
    try:
        report = syncpull.pull(ctx, commit=True, command="demo: pull --commit")
    finally:
        ctx.close()
    _check(report.written.get("title") == EDITED_TITLE, "pull did not bring the new title home")
    steps.line(
        "pull",
        f"wrote {', '.join(sorted(report.written))} into {', '.join(report.files)}; "
        f"committed {(report.commit or '')[:7]} ({syncpull.commit_message(report.written)})",
    )

    _show_status(steps, repo)
    ui.out(f"{'git log':<13}" + "\n             ".join(repo.log_oneline(5)))

    description = repo_dir / "templates" / "description.html"
    text = description.read_text(encoding="utf-8")
    description.write_text(text.rstrip("\n") + "\n" + LOCAL_PARAGRAPH + "\n", encoding="utf-8")
    sha = repo.commit_paths(["templates/description.html"], "Describe when submissions close")
    steps.line(
        "local edit",
        f"appended a paragraph to templates/description.html, committed {sha[:7]} "
        "(the pre-commit hook validated it)",
        figures=False,
    )
    steps.seen = len(sandbox.requests())
    output = repo.push("origin", "challenge")
    for line in _hook_output(output):
        ui.out(f"{'':13}hook: {line}")
    remote_description = sandbox.get_challenge(pk)["description"]
    _check(LOCAL_PARAGRAPH in remote_description, "the pre-push hook did not send the edit")
    patches = [r for r in sandbox.requests()[steps.seen :] if r.method == "PATCH"]
    _check(len(patches) == 1, f"expected one PATCH for one changed field, saw {len(patches)}")
    steps.line("git push", "pre-push hook sent the new description to EvalAI with one PATCH")

    _show_status(steps, repo, final=True)
    return repo_dir


def _edit_on_evalai(sandbox: SandboxServer, pk: int) -> str:
    """Change the title through EvalAI's own PATCH endpoint, as the web UI does."""
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.settings import Connection

    with EvalAIClient(Connection(sandbox.url, sandbox.token, sandbox.team_pk)) as client:
        answer = client.patch_challenge(pk, {"title": EDITED_TITLE})
    _check(answer.get("title") == EDITED_TITLE, "the sandbox did not take the edit")
    return f"title changed on EvalAI (as in its web UI) to {EDITED_TITLE!r}"


def _show_status(steps: _Steps, repo: GitRepo, *, final: bool = False) -> None:
    from evalai_mirror import sync

    ctx = sync.open_context(None, path=repo.root)
    try:
        report = sync.status(ctx)
    finally:
        ctx.close()
    if report.comparison is None:
        raise MirrorError(f"status could not compare: {report.remote_error}")
    rows = report.rows
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state.value] = counts.get(row.state.value, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    _check(not report.drift, f"expected everything in sync, status says: {summary}")
    steps.line(
        "status",
        f"{len(rows)} fields of challenge {report.pk}: {summary}"
        + ("; both sides agree" if final else ""),
    )
