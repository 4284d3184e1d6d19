"""Hostile trees and small integrity promises (issue 14): a symlink loop where a template should
be, links out of the repository under evaluation_script/, a logo outside the repository, a
command waiting for another's lock, and watch's conflict warning said once per EvalAI value."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import commit_all, set_title

from evalai_mirror.source import WorkTreeSource
from evalai_mirror.zipbuild import build_challenge_zip


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "evalai_mirror", *args], cwd=repo,
                          env=dict(os.environ), capture_output=True, text=True, check=False,
                          timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "crashed" not in proc.stderr
    return proc


@pytest.mark.slow
def test_a_symlink_loop_at_a_template_path_is_one_line_and_exit_1(
    pushed_repo: tuple[Path, int]
) -> None:
    repo, _ = pushed_repo
    template = repo / "templates" / "description.html"
    template.unlink()
    (repo / "templates" / "a.html").symlink_to("b.html")
    (repo / "templates" / "b.html").symlink_to("a.html")
    template.symlink_to("a.html")
    for command in ("validate", "status", "pull", "diff"):
        proc = cli(repo, command)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            "error: templates/description.html: is a symbolic link that leads back to itself "
            "(a loop) (replace the link with the file, or point it at a real file)"
        ], command


def test_links_out_of_the_repository_are_left_out_of_the_zip_and_validate_says_so(
    challenge_repo: Path, tmp_path: Path
) -> None:
    repo = challenge_repo
    outside = tmp_path / "outside_helper.py"
    outside.write_text("SECRET = 1\n")
    (repo / "evaluation_script" / "helper.py").symlink_to(outside)
    (repo / "evaluation_script" / "inside.py").symlink_to("main.py")  # inside: kept
    source = WorkTreeSource(repo)
    assert "evaluation_script/helper.py" not in source.list_files()
    assert "evaluation_script/inside.py" in source.list_files()
    assert source.links_out() == {"evaluation_script/helper.py": str(outside)}
    with zipfile.ZipFile(BytesIO(build_challenge_zip(source))) as archive:
        inner = zipfile.ZipFile(BytesIO(archive.read("evaluation_script.zip")))
        assert "helper.py" not in inner.namelist() and "inside.py" in inner.namelist()

    proc = cli(repo, "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # EvalAI accepts the config
    assert (
        f"warning: evaluation_script/helper.py is a link to {outside}, outside the repository, "
        "so it is left out of the zip EvalAI gets; copy the file into the repository instead"
    ) in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("where", ["../outside.jpg", "absolute"])
def test_a_logo_outside_the_repository_is_one_rule_for_validate_and_push(
    where: str, pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    repo, pk = pushed_repo
    outside = repo.parent / "outside.jpg"
    outside.write_bytes((repo / "logo.jpg").read_bytes())
    image = str(outside) if where == "absolute" else where
    config = repo / "challenge_config.yaml"
    config.write_text(config.read_text().replace("image: logo.jpg", f"image: {image}"))
    set_title(repo, "Logo Elsewhere")
    commit_all(repo, "a logo outside the repository")
    checked, pushed = cli(repo, "validate"), cli(repo, "push")
    assert checked.returncode == pushed.returncode == 1
    verdict = "The submitted data was not a file. Check the encoding type on the form."
    assert verdict in checked.stdout and verdict in pushed.stderr
    assert sandbox_env.get_challenge(pk)["title"] != "Logo Elsewhere"


HOLD = """
import sys, time
from pathlib import Path
from evalai_mirror.state import StateStore
with StateStore(Path(sys.argv[1])).lock():
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_command_waiting_for_another_says_so_after_a_second(
    pushed_repo: tuple[Path, int]
) -> None:
    repo, _ = pushed_repo
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(repo / ".git"), "2.5"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        proc = cli(repo, "pull")
        waited = time.monotonic() - started
    finally:
        holder.wait(10)
    assert proc.returncode == 0, proc.stderr
    assert f"waiting for another evalai-mirror in this repository (pid {holder.pid})" in (
        proc.stderr
    )
    assert proc.stderr.count("waiting for another") == 1 and waited >= 1


def test_watch_says_a_conflict_once_per_new_evalai_value(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    from evalai_mirror import sync
    from evalai_mirror.watcher import Watcher, WatchOptions

    repo, pk = pushed_repo
    said: list[str] = []
    ctx = sync.open_context(None)
    watcher = Watcher(ctx, WatchOptions(interval=0.01, watch_files=False),
                      emit=lambda level, message: said.append(message))
    try:
        set_title(repo, "Here")
        sandbox_env.edit_challenge(pk, title="There")
        assert watcher.poll_once().conflicts
        for n in range(3):  # the host keeps saving new titles here: not news
            set_title(repo, f"Here {n}")
            watcher.handle_saves(["challenge_config.yaml"])
            assert watcher.poll_once().conflicts
        assert sum("conflict: title" in m for m in said) == 1
        sandbox_env.edit_challenge(pk, title="Elsewhere")  # a new EvalAI value: said again
        watcher.poll_once()
        watcher.poll_once()
        assert sum("conflict: title" in m for m in said) == 2
    finally:
        ctx.close()
