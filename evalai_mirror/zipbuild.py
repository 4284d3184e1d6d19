"""The challenge zip that EvalAI's zip endpoints take, built as EvalAI-Starters builds it.

Everything in the tree goes in except what EvalAI-Starters leaves out (folders ``.git``,
``.github``, ``github`` — which holds the token file —, ``code_upload_challenge_evaluation``,
``remote_challenge_evaluation`` at any depth; files ``.gitignore``, ``challenge_config.zip``,
``README.md``, ``run.sh``, ``submission.json`` at any depth).  ``evaluation_script/`` is replaced
by ``evaluation_script.zip`` at the root, which holds that folder's contents at its own root
(a repository without that folder may commit ``evaluation_script.zip`` itself).

The bytes are deterministic: sorted names, one fixed timestamp, fixed permissions, so the same
tree always gives the same zip (and the same digest).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from evalai_mirror.source import FileSource

IGNORE_DIRS = frozenset(
    {
        ".git",
        ".github",
        "github",
        "code_upload_challenge_evaluation",
        "remote_challenge_evaluation",
    }
)
IGNORE_FILES = frozenset(
    {".gitignore", "challenge_config.zip", "README.md", "run.sh", "submission.json"}
)
EVALUATION_SCRIPT_DIR = "evaluation_script"
EVALUATION_SCRIPT_ZIP = "evaluation_script.zip"

_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644


def included(path: str) -> bool:
    """Whether ``path`` (relative to the challenge root) goes into the challenge zip as is."""
    parts = path.split("/")
    if any(part in IGNORE_DIRS for part in parts[:-1]):
        return False
    if parts[-1] in IGNORE_FILES:
        return False
    if parts[0] == EVALUATION_SCRIPT_DIR and len(parts) > 1:
        return False
    return path != EVALUATION_SCRIPT_ZIP


def _zip(entries: list[tuple[str, Callable[[], bytes]]]) -> bytes:
    """The zip of ``(name, read)`` pairs; each file is read only when it is written, so that at
    most one file (besides the zip) is in memory at a time: annotation files can be large."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, read in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so that the permission bits below are read
            info.external_attr = (0o100000 | _FILE_MODE) << 16
            archive.writestr(info, read(), compresslevel=6)
    return buffer.getvalue()


def _reader(source: FileSource, path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        data = source.read(path)
        # Listed but gone (a race with the working copy): written as an empty file.
        return b"" if data is None else data

    return read


def build_evaluation_script_zip(source: FileSource) -> bytes:
    """``evaluation_script.zip``: the files of ``evaluation_script/``, paths relative to it."""
    prefix = EVALUATION_SCRIPT_DIR + "/"
    return _zip(
        [
            (path[len(prefix) :], _reader(source, path))
            for path in source.list_files(EVALUATION_SCRIPT_DIR)
        ]
    )


def build_challenge_zip(source: FileSource) -> bytes:
    """The whole challenge zip (``challenge_config.yaml`` and everything it needs)."""
    entries = [(path, _reader(source, path)) for path in source.list_files() if included(path)]
    # Without an evaluation_script/ folder, a committed evaluation_script.zip is used as is.
    has_folder = bool(source.list_files(EVALUATION_SCRIPT_DIR))
    committed = None if has_folder else source.read(EVALUATION_SCRIPT_ZIP)
    if has_folder or committed is not None:  # neither: EvalAI says there is no script
        script = build_evaluation_script_zip(source) if committed is None else committed
        entries.append((EVALUATION_SCRIPT_ZIP, lambda: script))
    return _zip(entries)
