"""The broken-config corpus (tests/data/corpus/cases.yaml): each case as a challenge tree, and
what the real EvalAI backend answered for it (tests/data/corpus/server.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from evalai_mirror.source import MappingSource, WorkTreeSource

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = DATA / "corpus" / "cases.yaml"
SERVER = DATA / "corpus" / "server.json"


def cases() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(CASES.read_text())["cases"]
    return loaded


def server_answers() -> dict[str, dict[str, Any]]:
    """{case id: {"status": int, "error": str (a 400's text)}} as the real backend answered."""
    if not SERVER.exists():
        return {}
    answers: dict[str, dict[str, Any]] = json.loads(SERVER.read_text())
    return answers


def tree(case: dict[str, Any], root: Path = DATA / "challenge") -> MappingSource:
    """The test challenge with the case's edits applied."""
    base = WorkTreeSource(root)
    files = {path: base.read(path) or b"" for path in base.list_files()}
    config = case.get("config") or files["challenge_config.yaml"].decode()
    for old, new in case.get("replace") or []:
        if old not in config:
            raise ValueError(f"case {case['id']}: {old!r} is not in challenge_config.yaml")
        config = config.replace(old, new, 1)
    files["challenge_config.yaml"] = (config + (case.get("append") or "")).encode()
    for path, text in (case.get("files") or {}).items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = str(text).encode()
    return MappingSource(files)


def server_lines(answer: dict[str, Any]) -> list[str]:
    """The lines of a 400's error text (EvalAI joins its messages with newlines)."""
    return [line for line in str(answer.get("error", "")).split("\n") if line.strip()]
