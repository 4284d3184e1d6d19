"""Large challenges: the zip is built into a temporary file and streamed to EvalAI (the sandbox
over real HTTP), with a progress bar on a terminal, one line elsewhere, nothing with --quiet."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPOSITORY, commit_all

from evalai_mirror import progress
from evalai_mirror.api import SLOWEST_UPLOAD, EvalAIClient
from evalai_mirror.settings import Connection
from evalai_mirror.source import WorkTreeSource
from evalai_mirror.zipbuild import build_challenge_zip, challenge_zip_file

ANNOTATION = "annotations/test_annotations_devsplit.json"
MB = 1 << 20


def _large_annotation(root: Path, megabytes: int, seed: int) -> int:
    """Replace the dev split's annotation file by a JSON one of about ``megabytes`` MB that
    deflate cannot shrink much (hex of random bytes); its size."""
    data = json.dumps({"seed": seed, "noise": os.urandom(megabytes * MB // 2).hex()}).encode()
    (root / ANNOTATION).write_bytes(data)
    return len(data)


def _client(sandbox: Any) -> EvalAIClient:
    return EvalAIClient(
        Connection(host_url=sandbox.url, token=sandbox.token, team_pk=int(sandbox.team_pk))
    )


class _ReadLog(io.FileIO):
    """A real file that notes the size of every read asked of it."""

    reads: list[int]

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.reads.append(len(data))
        return data


def test_the_zip_is_built_into_a_temporary_file_with_the_same_bytes(fixture_copy: Path) -> None:
    _large_annotation(fixture_copy, 2, seed=1)
    source = WorkTreeSource(fixture_copy)
    with challenge_zip_file(source) as handle:
        assert os.fstat(handle.fileno()).st_size > MB  # on disk, not in memory
        assert handle.tell() == 0
        data = handle.read()
    assert handle.closed
    assert data == build_challenge_zip(source)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(ANNOTATION) == (fixture_copy / ANNOTATION).read_bytes()


def test_the_upload_streams_the_file_and_waits_longer_for_a_larger_zip(
    fixture_copy: Path, sandbox: Any, tmp_path: Path
) -> None:
    _large_annotation(fixture_copy, 3, seed=2)
    path = tmp_path / "challenge.zip"
    with challenge_zip_file(WorkTreeSource(fixture_copy)) as handle:
        path.write_bytes(handle.read())
    size = path.stat().st_size
    log = _ReadLog(path, "r")
    log.reads = []
    with _client(sandbox) as client, log:
        created, _message = client.create_or_update(log, REPOSITORY, "challenge")
        assert created
        assert client.stats.bytes_sent > size  # the whole zip went, inside the form
        base = client.timeout[1]
        assert client.upload_timeout(size) == pytest.approx(base + size / SLOWEST_UPLOAD)
        assert client.upload_timeout(100 * MB) > base + 100
    # read a block at a time while being sent, never whole
    assert sum(log.reads) == size
    assert max(log.reads) <= MB < size
    found = sandbox.challenge_pk(REPOSITORY)
    assert found is not None


@pytest.mark.parametrize("width", [100, 0])  # 0: a pseudo-terminal nobody sized
def test_a_terminal_shows_a_progress_bar(
    fixture_copy: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    _large_annotation(fixture_copy, 2, seed=3)
    master, slave = pty.openpty()
    if width:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
    terminal = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    try:
        with _client(sandbox) as client, challenge_zip_file(WorkTreeSource(fixture_copy)) as zf:
            assert client.create_or_update(zf, REPOSITORY, "challenge")[0]
        terminal.flush()
        shown = b""
        os.set_blocking(master, False)
        while True:
            try:
                chunk = os.read(master, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        terminal.close()
        os.close(master)
    text = shown.decode("utf-8", "replace")
    assert "building the challenge zip" in text and "uploading the challenge zip to EvalAI" in text
    assert "100%" in text and "B/s" in text  # done / total and the rate, as tqdm draws them
    assert "\r" in text  # one line redrawn in place


@pytest.mark.slow
def test_push_of_a_large_challenge_says_one_line_per_step_off_a_terminal_and_nothing_quiet(
    challenge_repo: Path, sandbox_env: Any
) -> None:
    size = _large_annotation(challenge_repo, 3, seed=4)
    commit_all(challenge_repo, "large annotations")

    def push(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "evalai_mirror", "push", *extra], cwd=challenge_repo,
            capture_output=True, text=True, check=False, timeout=300,
        )

    proc = push()  # the first push creates the challenge by zip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    building = [line for line in lines if line.startswith("building the challenge zip: ")]
    uploading = [line for line in lines if line.startswith("uploading the challenge zip to EvalAI: ")]
    assert len(building) == 1 and len(uploading) == 1, proc.stderr
    # the files' bytes, done of total (the annotation file and the few small ones)
    done = re.match(r"building the challenge zip: ([\d.]+) MiB of \1 MiB in [\d.]+ s \(", building[0])
    assert done is not None and float(done.group(1)) >= size / MB - 0.1, building[0]
    assert "MiB" in uploading[0] and "/s)" in uploading[0]
    assert "\r" not in proc.stderr
    assert sandbox_env.challenge_pk(REPOSITORY) is not None

    _large_annotation(challenge_repo, 3, seed=5)  # only the zip carries annotations
    commit_all(challenge_repo, "new annotations")
    sandbox_env.clear_requests()
    proc = push("--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "" and "challenge zip" not in proc.stderr, proc.stderr
    assert [r.method for r in sandbox_env.requests() if r.method == "POST"] == ["POST"]
