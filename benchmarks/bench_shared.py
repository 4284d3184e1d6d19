"""The shared base's own cost: fetching refs/evalai-mirror/<branch> and merging it into the
cache (``shared.load``), and committing and pushing a moved base (``shared.publish``), each side
by side with the plain git command it wraps, measured in the same run on a local bare remote.

    python benchmarks/bench_shared.py [--rounds N] [--fields N]

Floors: ``git fetch`` of the same ref when nothing changed (what any fetch costs), and ``git
push`` of a one-file commit to a ref of its own.  Medians over the rounds; prints ours, the
floor, the difference and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _repo import git as _git  # this folder is on sys.path (run as a script)


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--fields", type=int, default=150, help="fields in the base")
    args = parser.parse_args()

    from evalai_mirror import shared
    from evalai_mirror.git import GitRepo
    from evalai_mirror.state import BranchState, StateStore

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # git reads no one's settings but ours (a signing config would sign the commits)
        (root / ".gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.invalid\n")
        os.environ.update(HOME=str(root), GIT_CONFIG_GLOBAL=str(root / ".gitconfig"),
                          GIT_CONFIG_NOSYSTEM="1")
        _git(root, "init", "-q", "--bare", "bare.git")
        work = root / "work"
        work.mkdir()
        _git(work, "init", "-q", "-b", "challenge")
        _git(work, "commit", "-q", "--allow-empty", "-m", "start")
        _git(work, "remote", "add", "origin", str(root / "bare.git"))
        _git(work, "push", "-q", "origin", "challenge")
        repo = GitRepo.open(work)
        store = StateStore(repo.git_dir)
        link = shared.Link(repo, store, "challenge")
        store.save("challenge", BranchState(
            challenge_pk=1, base={f"field{i}": "x" * 40 for i in range(args.fields)}))
        shared.publish(link)
        counter = iter(range(10**9))

        def move_and_publish() -> None:
            state = store.load("challenge")
            assert state is not None
            state.base["title"] = f"title {next(counter)}"
            store.save("challenge", state)
            shared.publish(link)

        def load() -> None:
            link.fetched_at = None
            shared.load(link)

        def floor_fetch() -> None:
            _git(work, "fetch", "-q", "--no-tags", "origin",
                 "+refs/evalai-mirror/challenge:refs/evalai-mirror/challenge")

        def floor_push() -> None:
            blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=work, check=True,
                                  capture_output=True, input=str(next(counter)).encode())
            tree = subprocess.run(["git", "mktree"], cwd=work, check=True, capture_output=True,
                                  input=b"100644 blob " + blob.stdout.strip() + b"\tx\n")
            sha = _git(work, "commit-tree", tree.stdout.decode().strip(), "-m", "floor").strip()
            _git(work, "push", "-q", "--no-verify", "-f", "origin", f"{sha}:refs/floor/challenge")

        pairs = {"load (fetch + merge), nothing new": (load, floor_fetch),
                 "publish a moved field": (move_and_publish, floor_push)}
        results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
        for _ in range(args.rounds):
            for name, (ours, floor) in pairs.items():
                results[name][0].append(_timed(ours))
                results[name][1].append(_timed(floor))

    print(f"local bare remote, {args.fields} fields in the base; medians of {args.rounds} "
          "rounds (ms)")
    print(f"  {'':38} {'ours':>6} {'floor':>6} {'over':>6} {'ratio':>6}")
    for name, (ours_t, floor_t) in results.items():
        a, b = statistics.median(ours_t) * 1000, statistics.median(floor_t) * 1000
        print(f"  {name:38} {a:6.0f} {b:6.0f} {a - b:6.0f} {a / b:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
