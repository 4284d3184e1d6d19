"""The challenge repository that ``evalai-mirror init`` creates, from the bundled template.

The template lives in ``evalai_mirror/templates/`` (package data): ``challenge/`` is copied as it
is, apart from a few markers (``__TITLE__``, ``__PIP_SPEC__``) and the title line of
``challenge_config.yaml``.  Its ``.pre-commit-config.yaml`` runs the hooks with the evalai-mirror
command installed on the machine (``repo: local``, ``language: system``), which works without a
published release; ``init --hooks-repo URL --hooks-rev REV`` writes the form that fetches them
from a repository instead; the GitHub Actions workflows in ``workflows/`` (push,
pull request validation, scheduled pull) go to ``.github/workflows/`` when asked for.  :func:`render` is pure (template in,
files out); :func:`create` writes them and makes the first commit, all or nothing.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from evalai_mirror import PIP_SPEC
from evalai_mirror.errors import UsageError
from evalai_mirror.hooks import PRE_COMMIT_CONFIG
from evalai_mirror.records import record
from evalai_mirror.settings import DEFAULT_BRANCHES

if TYPE_CHECKING:
    import sys

    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

# The hooks pre-commit runs, in the order the config lists them (``.pre-commit-hooks.yaml`` has
# each one's definition; the bundled config's local hooks repeat it, and a test keeps them equal).
PRE_COMMIT_HOOK_IDS = ("evalai-validate", "evalai-push")
DEFAULT_BRANCH = "challenge"
DEFAULT_TITLE = "My EvalAI Challenge"
FIRST_COMMIT_MESSAGE = "Create the challenge from the evalai-mirror template"
WORKFLOWS_DIR = ".github/workflows"
# The bundled workflows (templates/workflows/<name>), in the order init lists them.
WORKFLOW_NAMES = ("evalai-mirror-push.yml", "evalai-mirror-validate.yml", "evalai-mirror-pull.yml")
WORKFLOW_PATHS = tuple(f"{WORKFLOWS_DIR}/{name}" for name in WORKFLOW_NAMES)
CONFIG_PATH = "challenge_config.yaml"
# EvalAI's serializer allows at most this many characters in a title.
MAX_TITLE = 100

_TITLE_LINE = re.compile(r"^title:[^\n]*$", re.MULTILINE)
# Files whose text carries markers; every other file is copied byte for byte.
_RENDERED = frozenset({PRE_COMMIT_CONFIG, "README.md", CONFIG_PATH})


@record(frozen=True)
class Options:
    """What ``init`` was asked for."""

    title: str | None = None
    branch: str = DEFAULT_BRANCH
    github_actions: bool = False
    # None: the hooks run the installed command (``repo: local``); else the repository
    # pre-commit fetches them from, at ``hooks_rev``.
    hooks_repo: str | None = None
    hooks_rev: str | None = None


@record(frozen=True)
class Created:
    """What :func:`create` made."""

    root: Path
    files: list[str]
    commit: str | None


def _template_root() -> Traversable:
    return resources.files("evalai_mirror").joinpath("templates")


def _walk(node: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    for child in sorted(node.iterdir(), key=lambda item: item.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name == "__pycache__":
                continue
            yield from _walk(child, rel + "/")
        elif child.is_file() and not child.name.endswith((".pyc", ".pyo")):
            yield rel, child.read_bytes()


def template_files() -> dict[str, bytes]:
    """The bundled challenge template as it is shipped: relative path -> bytes."""
    return dict(_walk(_template_root().joinpath("challenge")))


def workflow_template(name: str) -> str:
    """The bundled GitHub Actions workflow ``name`` (one of WORKFLOW_NAMES), markers not yet
    replaced."""
    return _template_root().joinpath("workflows").joinpath(name).read_text("utf-8")


def yaml_scalar(text: str) -> str:
    """``text`` as a YAML scalar that loads back as the same string (plain when it can be)."""
    import yaml

    if text and text == text.strip() and "\n" not in text:
        try:
            if yaml.safe_load(f"key: {text}\n") == {"key": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def check_title(title: str) -> str:
    """The title as EvalAI stores it (trimmed), or a UsageError saying how to fix it."""
    clean = title.strip()
    if not clean:
        raise UsageError(
            "--title is empty", hint="give the challenge's name, e.g. --title 'Cats vs Dogs'"
        )
    if "\n" in clean or "\r" in clean:
        raise UsageError("--title has a line break", hint="give the title on one line")
    if len(clean) > MAX_TITLE:
        raise UsageError(
            f"--title has {len(clean)} characters; EvalAI allows at most {MAX_TITLE}",
            hint="shorten it and keep the details for templates/description.html",
        )
    return clean


def set_title(config_text: str, title: str) -> str:
    """``challenge_config.yaml``'s text with its top-level ``title:`` line set to ``title``."""
    new_text, count = _TITLE_LINE.subn(
        lambda _m: f"title: {yaml_scalar(title)}", config_text, count=1
    )
    if count != 1:  # pragma: no cover - the bundled template always has one
        raise UsageError("the bundled challenge_config.yaml has no title line")
    return new_text


def workflow_branches(branch: str, patterns: Sequence[str] = DEFAULT_BRANCHES) -> list[str]:
    """The branch filters of the push and pull-request workflows: the branches that sync
    (``patterns``), plus ``branch`` when none of them matches it."""
    found = list(patterns)
    if not any(fnmatch.fnmatchcase(branch, pattern) for pattern in found):
        found.append(branch)
    return found


def render_workflows(
    branch: str, patterns: Sequence[str] = DEFAULT_BRANCHES
) -> dict[str, str]:
    """The GitHub Actions workflows (repository path -> text): push and pull-request
    validation on the branches that sync, the scheduled pull of ``branch``."""
    branches = json.dumps(workflow_branches(branch, patterns))  # a YAML flow sequence
    return {
        path: workflow_template(name)
        .replace("__BRANCHES__", branches)
        .replace("__BRANCH__", branch)
        .replace("__PIP_SPEC__", PIP_SPEC)
        for path, name in zip(WORKFLOW_PATHS, WORKFLOW_NAMES, strict=True)
    }


def pre_commit_config(template: str, hooks_repo: str | None, hooks_rev: str | None) -> str:
    """The bundled ``.pre-commit-config.yaml`` (local hooks), or, with ``hooks_repo``, the same
    header with the hooks fetched from that repository at ``hooks_rev``."""
    if hooks_repo is None:
        if hooks_rev is not None:
            raise UsageError("--hooks-rev needs --hooks-repo", hint="give both, or neither")
        return template
    if not hooks_rev:
        raise UsageError(
            "--hooks-repo needs --hooks-rev: the tag or commit of that repository to use",
            hint=f"e.g. the commit `git ls-remote {hooks_repo} HEAD` prints",
        )
    header = template[: template.index("repos:\n")]
    ids = "".join(f"      - id: {hook_id}\n" for hook_id in PRE_COMMIT_HOOK_IDS)
    return (
        f"{header}repos:\n  - repo: {yaml_scalar(hooks_repo)}\n    rev: {yaml_scalar(hooks_rev)}\n"
        f"    hooks:\n{ids}"
        "      # To send each commit to EvalAI as soon as it is made, add post-commit to\n"
        "      # default_install_hook_types above and enable this hook:\n"
        "      # - id: evalai-push-on-commit\n"
    )


def render(options: Options) -> dict[str, bytes]:
    """Every file of the new repository (relative POSIX path -> bytes), markers replaced."""
    title = check_title(options.title) if options.title is not None else DEFAULT_TITLE
    markers = {"__TITLE__": title, "__PIP_SPEC__": PIP_SPEC}
    files = template_files()
    for path in _RENDERED:
        text = files[path].decode("utf-8")
        for marker, value in markers.items():
            text = text.replace(marker, value)
        if path == CONFIG_PATH:
            text = set_title(text, title)
        if path == PRE_COMMIT_CONFIG:
            text = pre_commit_config(text, options.hooks_repo, options.hooks_rev)
        files[path] = text.encode("utf-8")
    if options.github_actions:
        for path, text in render_workflows(options.branch).items():
            files[path] = text.encode("utf-8")
    return files


def check_target(dest: Path) -> None:
    """Refuse a target that is a file or a non-empty folder (nothing is written)."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(
            f"{dest} is a file, not a folder",
            hint="give a new folder's name, e.g. `evalai-mirror init my-challenge`",
        )
    if dest.is_dir():
        entries = sorted(os.listdir(dest))
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise UsageError(
                f"{dest} is not empty ({shown})",
                hint="init only fills an empty folder: give a new one, "
                "e.g. `evalai-mirror init my-challenge`",
            )


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` below ``root`` (which must exist)."""
    from evalai_mirror.fsutil import atomic_write_bytes

    for rel, data in sorted(files.items()):
        atomic_write_bytes(root / rel, data)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def create(dest: Path, options: Options, *, commit: bool = True) -> Created:
    """Make the challenge repository at ``dest``: files, ``git init`` on ``options.branch`` and
    (with ``commit``) a first commit.  All or nothing: on any failure ``dest`` is left as it was.

    Everything is built in a temporary folder first, then moved into place.
    """
    from evalai_mirror.git import GitRepo

    dest = Path(os.path.abspath(dest))
    check_target(dest)
    files = render(options)
    existed = dest.is_dir()
    # A new folder is built beside the target and renamed; an existing (empty) one is filled
    # from a temporary folder inside it, so that no write is needed next to it.
    parent = dest if existed else dest.parent
    if not parent.is_dir():
        raise UsageError(
            f"{parent} does not exist", hint=f"create it first with: mkdir -p {parent}"
        )
    staging = Path(tempfile.mkdtemp(prefix=".evalai-mirror-init-", dir=parent))
    try:
        write_files(staging, files)
        repo = GitRepo.init(staging, options.branch)
        sha = repo.commit_all(FIRST_COMMIT_MESSAGE) if commit else None
        if existed:
            for entry in sorted(os.listdir(staging)):
                os.replace(staging / entry, dest / entry)
            staging.rmdir()
        else:
            os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if existed:  # it was empty: take back what this call moved into it
            ours = {rel.split("/", 1)[0] for rel in files} | {".git"}
            for entry in os.listdir(dest):
                if entry in ours:
                    _remove(dest / entry)
        raise
    return Created(root=dest, files=sorted(files), commit=sha)
