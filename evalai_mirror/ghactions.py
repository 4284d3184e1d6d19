"""Output for GitHub Actions: workflow commands (``::error file=...,line=...::message``) and
the job summary.

Pure text helpers, no I/O beyond appending to the file ``$GITHUB_STEP_SUMMARY`` names.  GitHub
reads a workflow command from a line of a step's output; ``%``, CR and LF in the message (and
also ``:`` and ``,`` in a property) must be escaped, or the annotation is cut or garbled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from evalai_mirror import PROJECT_URL, ui

# Where the README documents every synced field: a refusal in a workflow run links to it.
FIELDS_URL = f"{PROJECT_URL}#the-fields"
ENV_ACTIONS = "GITHUB_ACTIONS"
ENV_SUMMARY = "GITHUB_STEP_SUMMARY"
ENV_WORKSPACE = "GITHUB_WORKSPACE"


def active(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs as a step of a GitHub Actions job."""
    return (os.environ if env is None else env).get(ENV_ACTIONS) == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow command line: ``level`` is ``error``, ``warning`` or ``notice``."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={int(line)}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(message.strip())}"


def workspace_path(path: str, env: Mapping[str, str] | None = None) -> str:
    """``path`` as GitHub names a file in an annotation: relative to the checkout
    (``$GITHUB_WORKSPACE``, else the current folder), with forward slashes."""
    base = (os.environ if env is None else env).get(ENV_WORKSPACE) or os.getcwd()
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    return rel.replace(os.sep, "/")


def add_summary(markdown: str, env: Mapping[str, str] | None = None) -> None:
    """Append ``markdown`` to the job summary (nothing when not in Actions)."""
    path = (os.environ if env is None else env).get(ENV_SUMMARY)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(ui.redact(markdown.rstrip("\n")) + "\n\n")
    except OSError:
        pass  # the summary is a courtesy; the log has the same text
