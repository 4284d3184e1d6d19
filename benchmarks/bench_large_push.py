"""Memory and time of pushing a large challenge: the first push (the whole zip) of a challenge
whose annotation file is ``--mb`` MB, as a process, against the sandbox.

The zip is built into a temporary file and streamed to EvalAI, so the push process should hold
about one copy of the annotation file (the commit's blob, read once), not three (the file, the
zip, the multipart body).  The baseline, measured in the same run, is a Python process that
imports evalai-mirror's CLI and reads the annotation file once; the figure to read is the ratio
of the two peak resident sizes.  With a 40 MB annotation file it was 1.44 (75 MiB against 52);
the same push with the zip built in memory and the body built by ``requests`` was 2.31 (120 MiB).

    python benchmarks/bench_large_push.py [--mb 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _repo import make_repo  # this folder is on sys.path (run as a script)

ANNOTATION = "annotations/test_annotations_testsplit.json"
# Runs argv and prints the peak resident size (KiB) of its largest process (it and git's).
PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_kib(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    elapsed = time.perf_counter() - start
    code, kib = int(out[0]), int(out[1])
    if code != 0:
        raise SystemExit(f"{argv} exited {code}")
    return kib, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="annotation file size (MB)")
    args = parser.parse_args()
    from evalai_mirror.sandbox import SandboxServer

    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmp:
        def grow(repo: Path) -> None:
            noise = os.urandom(args.mb * (1 << 20) // 2).hex()  # deflate keeps about half
            (repo / ANNOTATION).write_text(json.dumps({"noise": noise}))

        repo = make_repo(Path(tmp), grow)
        size = (repo / ANNOTATION).stat().st_size
        sandbox = SandboxServer(Path(tmp) / "sandbox").start()
        try:
            env = {**os.environ, **sandbox.env(), "HOME": tmp, "XDG_CACHE_HOME": tmp}
            baseline, _ = peak_kib(
                [sys.executable, "-c",
                 f"import evalai_mirror.cli; data = open({ANNOTATION!r}, 'rb').read()"],
                repo, env,
            )
            pushed, seconds = peak_kib(
                [sys.executable, "-m", "evalai_mirror", "push"], repo, env
            )
        finally:
            sandbox.stop()
    print(f"annotation file      {size / (1 << 20):.1f} MiB")
    print(f"baseline (read once) peak RSS {baseline / 1024:.1f} MiB")
    print(f"push (whole zip)     peak RSS {pushed / 1024:.1f} MiB in {seconds:.1f} s")
    print(f"ratio push / baseline: {pushed / baseline:.2f} (target: under 1.6; 2.31 in memory)")


if __name__ == "__main__":
    main()
