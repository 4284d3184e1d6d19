"""A one-field push (PATCH path) against the EvalAI-Starters path (the whole challenge zip
uploaded) for the same edit, on one sandbox in one run.

Each round commits a new title and sends it both ways, end to end from the commit: ours is
``syncpush.push`` (validate, read the commit, two GETs at once, one PATCH); the baseline is what
EvalAI-Starters' workflow does on a push (.github/workflows/validate-and-process.yml): its
processing script runs twice, first as "Validate challenge" (the zip POSTed to
validate_challenge_config), then as "Create or update challenge" (the zip POSTed to
create_or_update_github_challenge), each building the zip afresh.  Prints the medians of bytes
sent, requests and wall time, and the ratios against the targets (<= 1/100 of the bytes, <= 1/5
of the time, <= 3 requests).

    python benchmarks/bench_push.py [--rounds N] [--annotation-kb KB]

The sandbox answers on loopback with no link latency or bandwidth and imports a zip in a few
milliseconds, so for the fixture's tiny challenge (a 4.6 KB zip) the zip path takes ~30 ms and
the three requests of a one-field push alone take ~0.17 of that: the 1/5 target leaves under a
millisecond for validating, reading the commit and recording the sync.  The "floor" line prints
that figure in every run.  ``--annotation-kb`` gives the challenge an annotation file of
realistic size (1000: 1 MB) for the same one-field edit.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _repo import REPOSITORY, git, make_repo  # this folder is on sys.path (run as a script)


def grow_annotations(annotation_kb: int) -> Callable[[Path], None]:
    """Give the test split an annotation file of about ``annotation_kb`` KB (the fixture's
    holds four labels)."""

    def prepare(repo: Path) -> None:
        rng = random.Random(4)
        labels = ", ".join(str(rng.randrange(10)) for _ in range(annotation_kb * 1024 // 3))
        annotations = repo / "annotations" / "test_annotations_testsplit.json"
        annotations.write_text(f'{{"split": "testsplit", "labels": [{labels}]}}')

    return prepare


def commit_title(repo: Path, title: str) -> None:
    config = repo / "challenge_config.yaml"
    text = re.sub(r"^title: .*$", f"title: {title}", config.read_text(), count=1, flags=re.M)
    config.write_text(text)
    git(repo, "commit", "-q", "-am", f"title {title}")


def ours() -> tuple[int, int, float]:
    """(bytes sent, requests, seconds) of one push of HEAD through the sync engine."""
    from evalai_mirror import sync, syncpush

    start = time.perf_counter()
    ctx = sync.open_context(argparse.Namespace())
    try:
        report = syncpush.push(ctx)
        elapsed = time.perf_counter() - start
        assert report.action == "patched", report
        stats = ctx.client.stats
        return stats.bytes_sent, stats.requests, elapsed
    finally:
        ctx.close()


def requests_alone(pk: int, title: str) -> float:
    """Seconds of the three requests a one-field push makes, as it makes them (GET the
    challenge and its phases at once, then PATCH the title), with none of the local work: the
    floor of our path on this server, whatever the client does."""
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.settings import resolve
    from evalai_mirror.sync import fetch_remote

    client = EvalAIClient(resolve(None).connection())
    try:
        start = time.perf_counter()
        fetch_remote(client, pk)
        client.patch_challenge(pk, {"title": title})
        return time.perf_counter() - start
    finally:
        client.close()


def starters(repo: Path) -> tuple[int, int, float]:
    """(bytes sent, requests, seconds) of the EvalAI-Starters way: zip HEAD and POST it to
    validate_challenge_config, then zip it again and POST it to create_or_update."""
    from evalai_mirror import sync, syncpush
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import resolve
    from evalai_mirror.zipbuild import build_challenge_zip

    start = time.perf_counter()
    client = EvalAIClient(resolve(None).connection())
    try:
        for step in ("validate", "create or update"):  # the workflow's two steps
            data = build_challenge_zip(GitRepo.open(repo).commit_source("HEAD"))
            if step == "validate":
                client.validate_zip(data, REPOSITORY)
            else:
                client.create_or_update(data, REPOSITORY, "challenge")
        elapsed = time.perf_counter() - start
        figures = (client.stats.bytes_sent, client.stats.requests, elapsed)
    finally:
        client.close()
    # Untimed: record what EvalAI now holds, so that the next PATCH round is not refused.
    ctx = sync.open_context(argparse.Namespace())
    try:
        syncpush.push(ctx)
    finally:
        ctx.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--annotation-kb",
        type=int,
        default=0,
        help="grow the test split's annotation file to about this size first (default: the "
        "fixture as it is, a few bytes)",
    )
    options = parser.parse_args()

    from evalai_mirror.sandbox.server import SandboxServer

    base = Path(tempfile.mkdtemp(prefix="bench-push-"))
    os.environ["HOME"] = str(base / "home")
    (base / "home").mkdir()
    server = SandboxServer(base / "sandbox", throttle_per_minute=0).start()
    cwd = os.getcwd()
    try:
        os.environ.update(server.env())
        prepare = grow_annotations(options.annotation_kb) if options.annotation_kb else None
        repo = make_repo(base, prepare)
        os.chdir(repo)
        from evalai_mirror import sync, syncpush

        ctx = sync.open_context(argparse.Namespace())
        try:
            pk = syncpush.push(ctx).pk  # the first push creates the challenge (not measured)
            assert pk is not None
        finally:
            ctx.close()

        patch_runs, zip_runs, floor_runs = [], [], []
        for i in range(options.rounds):
            commit_title(repo, f"Bench Title {i} patch")
            patch_runs.append(ours())
            commit_title(repo, f"Bench Title {i} zip")
            zip_runs.append(starters(repo))
            # The same title again: EvalAI ends up where the commit is, so rounds go on.
            floor_runs.append(requests_alone(pk, f"Bench Title {i} zip"))
    finally:
        os.chdir(cwd)
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    def med(runs: list[tuple[int, int, float]], i: int) -> float:
        return float(statistics.median(run[i] for run in runs))

    p_bytes, z_bytes = med(patch_runs, 0), med(zip_runs, 0)
    p_req, z_req = med(patch_runs, 1), med(zip_runs, 1)
    p_time, z_time = med(patch_runs, 2), med(zip_runs, 2)
    rows = [
        ("bytes sent", f"{p_bytes:.0f}", f"{z_bytes:.0f}", p_bytes / z_bytes, "<= 0.01"),
        ("requests", f"{p_req:.0f}", f"{z_req:.0f}", p_req / z_req, "<= 3 requests"),
        ("wall time (ms)", f"{p_time * 1000:.1f}", f"{z_time * 1000:.1f}", p_time / z_time,
         "<= 0.2"),
    ]
    size = f", annotations ~{options.annotation_kb} KB" if options.annotation_kb else ""
    print(f"one-field push, {options.rounds} rounds{size}, medians "
          "(PATCH path vs EvalAI-Starters zip upload)")
    print(f"{'':16}{'PATCH':>10}{'zip':>10}{'ratio':>9}  target")
    for name, ours_v, zip_v, ratio, target in rows:
        print(f"{name:16}{ours_v:>10}{zip_v:>10}{ratio:>9.4f}  {target}")
    floor = statistics.median(floor_runs)
    print(f"floor: the push's three requests alone, no local work: {floor * 1000:.1f} ms = "
          f"{floor / z_time:.4f} of the zip path's time")
    ok = p_bytes <= z_bytes / 100 and p_time <= z_time / 5 and p_req <= 3
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
