"""How fast `evalai-mirror validate` starts and runs, against `python -c pass` in the same run.

Targets: the EvalAI-Starters fixture at most 4x the time of `python -c pass`; a generated config
with 200 phases at most 10x.  Prints the median of N runs of each, and the ratios.

    python benchmarks/bench_validate.py [--runs N]

Byte-code caches are written once before timing (an installed package has them; a checkout run
with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "challenge"
TARGETS = {"fixture": 4.0, "200 phases": 10.0}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    return env


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("evalai-mirror")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalai_mirror"]


def _time(cmd: list[str], cwd: Path, runs: int, expect: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
        if proc.returncode != expect:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout!r}")
    return statistics.median(samples)


def generate_phases(root: Path, count: int) -> None:
    """Rewrite root/challenge_config.yaml with ``count`` phases, each with a phase split."""
    config = (root / "challenge_config.yaml").read_text()
    head = config.split("challenge_phases:")[0]
    phases = ["challenge_phases:"]
    splits = ["challenge_phase_splits:"]
    for n in range(1, count + 1):
        phases.append(
            f"""  - id: {n}
    name: Phase {n}
    description: templates/challenge_phase_1_description.html
    leaderboard_public: False
    is_public: True
    is_submission_public: True
    start_date: 2019-01-19 00:00:00
    end_date: 2099-04-25 23:59:59
    test_annotation_file: annotations/test_annotations_devsplit.json
    codename: phase_{n}
    max_submissions_per_day: 5
    max_submissions_per_month: 50
    max_submissions: 50
    submission_meta_attributes:
      - name: TextAttribute
        description: Sample
        type: text
      - name: SingleOptionAttribute
        description: Sample
        type: radio
        options: ["A", "B", "C"]
    is_restricted_to_select_one_submission: False"""
        )
        splits.append(
            f"""  - challenge_phase_id: {n}
    leaderboard_id: 1
    dataset_split_id: {1 + n % 2}
    visibility: 1
    leaderboard_decimal_precision: 2
    is_leaderboard_order_descending: True"""
        )
    datasets = """dataset_splits:
  - id: 1
    name: Train Split
    codename: train_split
  - id: 2
    name: Test Split
    codename: test_split"""
    text = "\n".join([head.rstrip(), "", *phases, "", datasets, "", *splits, ""])
    (root / "challenge_config.yaml").write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fixture = Path(tmp) / "fixture"
        shutil.copytree(FIXTURE, fixture)
        big = Path(tmp) / "big"
        shutil.copytree(FIXTURE, big)
        generate_phases(big, 200)
        cli = [*_cli(), "validate", "--quiet"]
        for where in (fixture, big):  # warm up: byte-code caches, file system caches
            subprocess.run(cli, cwd=where, env=_env(), capture_output=True, check=True)
        baseline = _time([sys.executable, "-c", "pass"], fixture, args.runs, 0)
        results = {
            "fixture": _time(cli, fixture, args.runs, 0),
            "200 phases": _time(cli, big, args.runs, 0),
        }
    print(f"python -c pass: {baseline * 1000:.1f} ms (median of {args.runs})")
    ok = True
    for name, seconds in results.items():
        ratio = seconds / baseline
        verdict = "ok" if ratio <= TARGETS[name] else "OVER TARGET"
        ok = ok and ratio <= TARGETS[name]
        print(
            f"validate {name}: {seconds * 1000:.1f} ms = {ratio:.2f}x "
            f"(target <= {TARGETS[name]:.0f}x) {verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
