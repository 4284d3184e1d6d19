"""A fault campaign against `watch` and a series of pushes: nothing a person wrote is lost and
no push is left wedged, whatever EvalAI's answers do.

    python benchmarks/fault_campaign.py [--faults 200] [--seed N] [--control]

A sandbox serves the test challenge over real HTTP; the sync engine runs in this process with a
0.5 s read timeout, as `watch` (Watcher.poll_once) and as `push`.  Three actors share the
repository:

* an editor saves challenge_config.yaml every 50-150 ms (a new value of the dev phase's
  max_submissions_per_month each time), as a careful editor does: read, change, write a new
  file and rename it over the old one only if the file on disk is still the one it read;
* "EvalAI's web UI" changes the title now and then;
* the host commits what the editor saved with a new short description, and pushes it (two
  PATCHes: the challenge's and the dev phase's), now and then.

Before each poll or push one random fault is scripted on the requests it sends: a 500 or an
HTML error page, a dropped connection, an answer lost / cut / too late after EvalAI carried the
request out, a slow answer, or a well-formed answer of the wrong shape.  A fault counts once a
request hit it; the campaign runs until --faults faults were hit.

It prints, and exits 1 unless both are 0:

* edits lost: a save the editor finds gone from the file when it comes back to save again, a
  title EvalAI no longer holds before the UI changes it again (a push reverted it), and, at the
  end, after the faults stop and one plain pull and push, either side not holding the other's
  last value;
* pushes wedged: a push that, once its fault is gone, a plain push (no --force) does not finish:
  refused, or leaving values in flight, or EvalAI not holding the commit's values.

``--control`` runs the same campaign with pull's writes unconditional (as they were before
issue 14: the file replaced whole, whatever was saved since the merge read it), to show that the
campaign sees lost saves when there are some.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _repo import REPOSITORY, git, make_repo  # this folder is on sys.path (run as a script)

FIELD = "max_submissions_per_month"
LOCAL_KEY = f"phases.dev.{FIELD}"
KINDS = ("500", "html", "drop", "lost", "cut", "late", "delay", "shape")
GETS = (r"/challenge_host_team/\d+/challenge/\d+$", r"/challenge/\d+/challenge_phase$",
        r"/challenges/\d+/challenge_phase_split$")
PATCHES = (r"/challenge/\d+/challenge_phase/\d+$", r"/challenge_host_team/\d+/challenge/\d+$")
SHAPES: dict[str, list[dict[str, Any]]] = {
    GETS[0]: [{"title": ["a", "list"]}, {"published": "maybe"}, {"id": "one"}],
    GETS[1]: [{"codename": "dev"}, {"codename": None}, {FIELD: "many"}],
    GETS[2]: [{"challenge_phase": "x"}, {"visibility": [1]}],
    PATCHES[0]: [{"codename": None}, {FIELD: [1]}],
    PATCHES[1]: [{"short_description": 5}],
}
_DEV_LIMIT = re.compile(rf"^(\s+{FIELD}: )(\d+)$", re.M)  # the first phase's is dev's


def dev_value(text: str) -> int:
    found = _DEV_LIMIT.search(text)
    assert found, "the dev phase's limit is not in the config"
    return int(found.group(2))


class Editor(threading.Thread):
    """Saves the config every 50-150 ms with a new dev limit; counts saves found gone."""

    def __init__(self, config: Path, rng: random.Random) -> None:
        super().__init__(name="editor", daemon=True)
        self.config = config
        self.rng = rng
        self.stop = threading.Event()
        self.value = dev_value(config.read_text())
        self.saves = 0
        self.lost = 0
        self.lock = threading.Lock()  # held while the host commits

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.05, 0.15)):
            with self.lock:
                self.save()

    def save(self) -> None:
        while True:
            before = self.config.read_bytes()
            text = before.decode("utf-8")
            if dev_value(text) != self.value:
                self.lost += 1  # someone replaced the file without our last save
            new_value = self.value + 1
            new = _DEV_LIMIT.sub(rf"\g<1>{new_value}", text, count=1)
            tmp = self.config.with_name(self.config.name + "~editor")
            tmp.write_text(new)
            if self.config.read_bytes() != before:  # changed on disk: read it again
                tmp.unlink()
                continue
            tmp.replace(self.config)
            self.value = new_value
            self.saves += 1
            return


def set_short_description(config: Path, text: str) -> None:
    lines = config.read_text().splitlines(keepends=True)
    new = "".join(f"short_description: {text}\n" if line.startswith("short_description:")
                  else line for line in lines)
    tmp = config.with_name(config.name + "~host")
    tmp.write_text(new)
    tmp.replace(config)


def add_fault(server: Any, rng: random.Random, patterns: tuple[str, ...]) -> Any:
    pattern = rng.choice(patterns)
    kind = rng.choice(KINDS)
    method = "PATCH" if pattern in PATCHES and rng.random() < 0.6 else "GET"
    change = rng.choice(SHAPES[pattern]) if kind == "shape" else None
    delay = {"late": 0.8, "delay": 0.1}.get(kind, 0.0)
    count = rng.randint(1, 3) if method == "GET" else 1
    return server.add_fault(method, pattern, kind, count, delay, change=change)


def open_ctx() -> Any:
    from evalai_mirror import sync
    from evalai_mirror.api import EvalAIClient

    ctx = sync.open_context(None)
    ctx._client = EvalAIClient(ctx.settings.connection(), timeout=0.5, backoff=0.01)
    return ctx


def plain_push() -> str | None:
    """A push with no faults scripted; None when it finished, else why not."""
    from evalai_mirror import syncpush
    from evalai_mirror.errors import MirrorError

    ctx = open_ctx()
    try:
        syncpush.push(ctx)
        state = ctx.store.load(ctx.branch)
        if state is not None and state.in_flight:
            return f"values left in flight: {sorted(state.in_flight)}"
    except MirrorError as exc:
        return str(exc)
    finally:
        ctx.close()
    return None


def campaign(server: Any, pk: int, repo: Path, args: argparse.Namespace) -> int:
    from evalai_mirror import syncpull, syncpush
    from evalai_mirror.errors import MirrorError
    from evalai_mirror.watcher import Watcher, WatchOptions

    rng = random.Random(args.seed)
    config = repo / "challenge_config.yaml"
    editor = Editor(config, random.Random(args.seed + 1))
    ctx = open_ctx()
    said: list[str] = []
    watcher = Watcher(ctx, WatchOptions(interval=0.05, max_backoff=0.05, watch_files=False),
                      emit=lambda level, message: said.append(f"{level}: {message}"))
    hit: Counter[str] = Counter()
    title_lost = wedged = pushes = polls = 0
    described = ""
    title = server.get_challenge(pk)["title"]
    editor.start()
    try:
        while sum(hit.values()) < args.faults:
            if rng.random() < 0.3:
                if server.get_challenge(pk)["title"] != title:
                    title_lost += 1  # a push (or anything) reverted EvalAI's edit
                title = f"Title from the web UI {sum(hit.values())}"
                server.edit_challenge(pk, title=title)
            pushing = rng.random() < 0.35
            fault = add_fault(server, rng, GETS + PATCHES if pushing else GETS)
            before = fault.count
            if pushing:
                pushes += 1
                with editor.lock:
                    described = f"Pushed {pushes}"
                    set_short_description(config, described)
                    git(repo, "add", "challenge_config.yaml")
                    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "saves")
                try:
                    push_ctx = open_ctx()
                    try:
                        syncpush.push(push_ctx)
                    finally:
                        push_ctx.close()
                except MirrorError:
                    pass
            else:
                polls += 1
                watcher.poll_once()
            server.clear_faults()
            hit[fault.kind] += before - fault.count  # take() counts each hit down by one
            if pushing:
                if fault.kind == "late":
                    time.sleep(0.9)  # its request finishes on the sandbox first
                why = plain_push()
                if why is not None:
                    wedged += 1
                    print(f"  wedged: {why}")
    finally:
        editor.stop.set()
        editor.join()
        ctx.close()
    # The faults stop: one plain pull brings the last title, one commit and push the last save.
    final = open_ctx()
    try:
        syncpull.pull(final)
    finally:
        final.close()
    git(repo, "add", "challenge_config.yaml")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "last saves")
    why = plain_push()
    if why is not None:
        wedged += 1
        print(f"  wedged at the end: {why}")
    text = config.read_text()
    dev = next(p for p in server.get_phases(pk) if p["codename"] == "dev")
    end_lost = int(f"title: {title}\n" not in text) + int(dev_value(text) != editor.value)
    end_lost += int(server.get_challenge(pk)["title"] != title) + int(dev[FIELD] != editor.value)
    if pushes:
        end_lost += int(server.get_challenge(pk)["short_description"] != described)
        end_lost += int(f"short_description: {described}\n" not in text)
    lost = editor.lost + title_lost + end_lost
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(hit.items()) if n)
    print(f"faults hit: {sum(hit.values())} ({kinds})")
    print(f"polls: {polls}, pushes: {pushes}, editor saves: {editor.saves}, "
          f"watch warnings: {sum(1 for s in said if s.startswith('warn'))}")
    print(f"edits lost: {lost}  (saves gone {editor.lost}, EvalAI titles reverted {title_lost}, "
          f"at the end {end_lost})")
    print(f"pushes wedged: {wedged}")
    return 0 if lost == 0 and wedged == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", type=int, default=200, help="faults to hit (default 200)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--control", action="store_true",
                        help="replace files unconditionally, as pull did before (expect losses)")
    args = parser.parse_args()
    if args.control:
        from evalai_mirror import fsutil

        def unconditional(path: Any, data: bytes, expected: bytes | None) -> bool:
            fsutil.atomic_write_bytes(path, data)
            return True

        fsutil.replace_if_unchanged = unconditional
    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as tmp:
        base = Path(tmp)
        home = base / "home"
        home.mkdir()
        os.environ.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                          GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
        from evalai_mirror.sandbox import SandboxServer

        server = SandboxServer(base / "sandbox", throttle_per_minute=0).start()
        try:
            os.environ.update(server.env())
            repo = make_repo(base)
            os.chdir(repo)
            from evalai_mirror import syncpush

            ctx = open_ctx()
            try:
                created = syncpush.push(ctx)
            finally:
                ctx.close()
            assert created.pk is not None
            control = " (control: unconditional writes)" if args.control else ""
            print(f"fault campaign{control}: {args.faults} faults, seed {args.seed}, "
                  f"{REPOSITORY} on {server.url}")
            return campaign(server, int(created.pk), repo, args)
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
