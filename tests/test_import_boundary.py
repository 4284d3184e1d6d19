"""The heavy third-party libraries stay out of what a hook runs: the CLI and the commands a hook
or `watch` runs load none of them, and a real push, status and pull through the CLI (against
the sandbox, in a fresh interpreter) load none of them either.  Checked by what ends up in
``sys.modules``, never by timing.

Each one is loaded only where it is needed: ``requests`` for zip uploads, the GitHub API and
proxied requests; ``ruamel.yaml`` for writing a config; ``watchdog`` for `watch`'s file
events; ``werkzeug`` for the sandbox; Pillow for a logo not seen before; GitPython and
filelock nowhere.

Nor do they load the stdlib's :mod:`dataclasses` or :mod:`inspect` (which imports ``ast``,
``dis``, ``tokenize``...): together some 15-20 ms of a hook's start-up, so the package's
records come from :mod:`evalai_mirror.records` instead.  Nor ``http.client`` (with ``email``,
~37 ms) or, for a plain http URL, ``ssl``: EvalAI's JSON requests go over
:mod:`evalai_mirror.wire` on a plain socket.  Nor ``shutil`` (argparse's formatter asks it
for the terminal's width; it brings the compression modules), ``ipaddress`` (to tell a loopback
address) or the ``idna`` codec (for a host name given to ``getaddrinfo`` as text), a few ms each.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit_all, set_title

HEAVY = ("requests", "urllib3", "git", "gitdb", "ruamel", "watchdog", "werkzeug", "PIL",
         "filelock", "tqdm", "charset_normalizer")

# stdlib modules that cost a hook's start-up more than they give it (a package: any of its
# modules; ``ssl`` is for an https URL only, and the tests' URLs are plain http)
SLOW_STDLIB = ("dataclasses", "inspect", "http.client", "email", "ssl", "shutil", "ipaddress",
               "encodings.idna")

REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)))"


def modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def loaded_by(code: str, cwd: Path | None = None) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    return {name.split(".")[0] for name in modules_after(code, cwd)}


@functools.cache
def at_start() -> frozenset[str]:
    """The modules this interpreter holds before it runs anything: an editable install's
    finder loads some (ipaddress, pathlib...) into every process, which no code of ours can
    help."""
    return frozenset(modules_after("pass"))


def slow_stdlib(modules: set[str]) -> set[str]:
    """Which of :data:`SLOW_STDLIB` ``modules`` holds, beyond what every process holds."""
    modules = modules - at_start()
    return {name for name in SLOW_STDLIB
            if name in modules or any(m.startswith(name + ".") for m in modules)}


HOT_PATH = ["cli", "commands.push", "commands.status", "commands.pull", "commands.watch",
            "commands.validate", "commands.share", "sync", "syncpush", "shared", "api", "git",
            "state", "validate", "http", "wire"]


@pytest.mark.parametrize("module", HOT_PATH)
def test_importing_the_hot_path_loads_no_heavy_library(module: str) -> None:
    found = loaded_by(f"import evalai_mirror.{module}") & set(HEAVY)
    assert not found, f"importing evalai_mirror.{module} loads {sorted(found)}"


@pytest.mark.parametrize("module", HOT_PATH)
def test_importing_the_hot_path_loads_no_slow_stdlib_module(module: str) -> None:
    found = slow_stdlib(modules_after(f"import evalai_mirror.{module}"))
    assert not found, f"importing evalai_mirror.{module} loads {sorted(found)}"


def test_the_records_module_loads_no_typing_at_run_time() -> None:
    modules = modules_after("import evalai_mirror.records")
    found = slow_stdlib(modules) | ({"typing"} & modules)
    assert not found, f"importing evalai_mirror.records loads {sorted(found)}"


def test_a_push_status_and_pull_through_the_cli_load_no_heavy_library(
    pushed_repo: tuple[Path, int],
) -> None:
    repo, _ = pushed_repo
    # the fixture's logo is decoded once here, as the first push from a clone does
    set_title(repo, "Boundary Title")
    commit_all(repo, "title")
    code = (
        "from evalai_mirror.cli import main\n"
        "for argv in (['push'], ['status'], ['pull'], ['validate']):\n"
        "    assert main(argv) == 0, argv\n"
    )
    modules = modules_after(code, cwd=repo)
    found = ({name.split(".")[0] for name in modules} & set(HEAVY)) | slow_stdlib(modules)
    assert not found, f"a push, status and pull load {sorted(found)}"


def test_after_the_validate_hook_a_push_and_status_load_no_yaml_parser(
    pushed_repo: tuple[Path, int],
) -> None:
    """The validate hook parses the config when the commit is made and keeps the parse; the
    push hook that sends the commit, and a status after it, read it back without PyYAML, and
    the repository's own settings file, parsed by an earlier command, too."""
    repo, _ = pushed_repo
    (repo / ".evalai-mirror.yml").write_text("branches: [challenge]\npoll_interval: 30\n")
    commit_all(repo, "settings")
    assert "yaml" in loaded_by("from evalai_mirror.cli import main\nmain(['status'])", cwd=repo)
    set_title(repo, "Kept Parse Title")
    validated = loaded_by("from evalai_mirror.cli import main\nassert main(['validate']) == 0",
                          cwd=repo)
    assert "yaml" in validated  # this one parsed the text
    commit_all(repo, "title")
    code = (
        "from evalai_mirror.cli import main\n"
        "for argv in (['push'], ['status']):\n"
        "    assert main(argv) == 0, argv\n"
    )
    found = loaded_by(code, cwd=repo)
    assert "yaml" not in found, "a push of a config the validate hook parsed loads PyYAML"
