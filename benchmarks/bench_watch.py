"""How quickly `evalai-mirror watch`, on its DEFAULT settings, mirrors an edit made on EvalAI,
how many requests it sends, and how much CPU it burns while idle.

    python benchmarks/bench_watch.py [--edits N] [--idle SECONDS]

A sandbox (EvalAI's 60-a-minute throttle on) serves a challenge created from the
EvalAI-Starters fixture; `evalai-mirror watch` runs as a subprocess in a clone of it.  The
benchmark edits the title "in the EvalAI UI" N times and times each edit until the working
copy's challenge_config.yaml carries it.  A real edit comes at a uniformly random point of the
watcher's poll cycle; the benchmark samples that distribution evenly instead of by chance: edit
n is made (n + 0.5)/N of the way through a cycle (the cycle read from the sandbox's request
log), so 20 edits give the median and p95 without the luck of the draw.

Baselines, measured in the same run: a one-shot `evalai-mirror pull` run right after an edit
(what mirroring costs on demand), and the idle CPU of a bare Python process that wakes as
often as the watcher's loop does.  Targets: median <= 2.5 s, p95 <= 5 s, <= 30 requests a
minute, idle CPU <= 1 % of a core.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _repo import git, make_repo  # this folder is on sys.path (run as a script)

ROOT = Path(__file__).resolve().parents[1]
CHALLENGE_GET = re.compile(r"challenge_host_team/\d+/challenge/\d+$")
TARGETS = {"median": 2.5, "p95": 5.0, "requests/min": 30.0, "idle cpu %": 1.0}


def _cli() -> list[str]:
    return [sys.executable, "-m", "evalai_mirror"]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int, seconds: float) -> float:
    """Percent of one core the process used over ``seconds`` of wall time."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def wait_for_title(config: Path, title: str, timeout: float) -> float:
    """Poll the file every 5 ms until it carries ``title``; the time it did."""
    needle = f"\ntitle: {title}\n".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if needle in config.read_bytes():
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    raise SystemExit(f"the edit {title!r} did not reach {config} within {timeout:g} s")


def baseline_pull(sandbox: Any, pk: int, repo: Path, env: dict[str, str], runs: int) -> float:
    samples = []
    for n in range(runs):
        title = f"Baseline {n}"
        sandbox.edit_challenge(pk, title=title)
        start = time.monotonic()
        proc = subprocess.run([*_cli(), "pull"], cwd=repo, env=env, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"pull failed: {proc.stderr.decode()}")
        samples.append(wait_for_title(repo / "challenge_config.yaml", title, 5) - start)
    return statistics.median(samples)


def baseline_idle(seconds: float, tick: float) -> float:
    code = f"import threading\ne = threading.Event()\nwhile True: e.wait({tick})"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(1)
        return idle_cpu(proc.pid, seconds)
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20, help="edits to time (default 20)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU sampling")
    opts = parser.parse_args()

    from evalai_mirror import sync, syncpush
    from evalai_mirror.sandbox import SandboxServer
    from evalai_mirror.settings import DEFAULT_POLL_INTERVAL
    from evalai_mirror.watcher import TICK

    base = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n")
    sandbox = SandboxServer(base / "sandbox", throttle_per_minute=60).start()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("EVALAI_", "GIT_"))
    }
    env.update(sandbox.env(), HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
               NO_COLOR="1", PYTHONUNBUFFERED="1")
    os.environ.update(env)
    watch: subprocess.Popen[bytes] | None = None
    try:
        repo = make_repo(base)
        os.chdir(repo)
        ctx = sync.open_context(None)
        pk = syncpush.push(ctx).pk
        ctx.close()
        assert pk is not None
        pull_baseline = baseline_pull(sandbox, pk, repo, env, 3)
        git(repo, "commit", "-q", "-am", "baseline pulls")

        log = (base / "watch.log").open("wb")
        watch = subprocess.Popen([*_cli(), "watch"], cwd=repo, env=env, stdout=log, stderr=log)
        time.sleep(3)  # start-up and the first poll
        if watch.poll() is not None:
            raise SystemExit((base / "watch.log").read_text())
        sandbox.clear_requests()
        window_start = time.monotonic()

        cpu_watch = idle_cpu(watch.pid, opts.idle)
        cpu_floor = baseline_idle(min(opts.idle, 10.0), TICK)

        interval = DEFAULT_POLL_INTERVAL
        polls = [r.time for r in sandbox.requests() if CHALLENGE_GET.search(r.path)]
        if not polls:
            raise SystemExit("watch sent no poll: " + (base / "watch.log").read_text())
        anchor = polls[-1]  # when a poll reached EvalAI (epoch seconds)
        latencies = []
        config = repo / "challenge_config.yaml"
        landed = time.time()
        for n in range(opts.edits):
            # edit n lands (n + 0.5)/N of the way through a poll cycle (stratified phases)
            phase = (n + 0.5) / opts.edits
            cycles = math.ceil((landed + 0.2 - anchor) / interval - phase)
            time.sleep(max(0.0, anchor + (cycles + phase) * interval - time.time()))
            title = f"Bench Edit {n}"
            start = time.monotonic()
            sandbox.edit_challenge(pk, title=title)
            latencies.append(wait_for_title(config, title, 4 * interval) - start)
            landed = time.time()
        minutes = (time.monotonic() - window_start) / 60
        records = sandbox.requests()
        throttled = sum(r.status == 429 for r in records)
    finally:
        if watch is not None:
            watch.terminate()
            watch.wait(timeout=15)
        sandbox.stop()
        os.chdir(ROOT)
        shutil.rmtree(base, ignore_errors=True)

    median = statistics.median(latencies)
    p95 = percentile(latencies, 95)
    # from the first request to the last: n requests span n - 2 of them (whole polls)
    span = (records[-1].time - records[0].time) / 60 if len(records) > 2 else minutes
    rate = (len(records) - 2) / span
    figures = {"median": median, "p95": p95, "requests/min": rate, "idle cpu %": cpu_watch}
    print(f"watch on defaults: poll interval {interval:g} s; {len(latencies)} edits over "
          f"{minutes:.1f} min")
    print(f"latency PATCH -> file: median {median:.2f} s, p95 {p95:.2f} s, "
          f"min {min(latencies):.2f} s, max {max(latencies):.2f} s")
    print(f"  baseline one-shot `evalai-mirror pull` after an edit: {pull_baseline:.2f} s; "
          f"median/baseline {median / pull_baseline:.2f}x")
    print(f"requests: {len(records)} in {span:.2f} min = {rate:.1f}/min "
          f"({rate / 60:.2f}x EvalAI's limit of 60/min); 429 answers: {throttled}")
    print(f"idle CPU: {cpu_watch:.2f} % of a core over {opts.idle:g} s; bare Python loop "
          f"waking every {TICK:g} s: {cpu_floor:.2f} %"
          + (f" ({cpu_watch / cpu_floor:.1f}x)" if cpu_floor > 0 else ""))
    failed = [name for name, value in figures.items() if value > TARGETS[name]]
    for name, value in figures.items():
        mark = "ok" if name not in failed else "MISSED"
        print(f"  {name:<13} {value:8.2f}  target <= {TARGETS[name]:g}  "
              f"({value / TARGETS[name]:.2f}x of target)  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
