"""Writing field values into the working copy: the config surgically (``yamledit``), HTML files
whole but in their own line endings and surrounding whitespace.

EvalAI stores text trimmed, so the blank lines and indentation around an HTML file's text are the
file's own and stay as they are.  When one HTML file serves two fields that would get different
text (a challenge and a phase sharing ``templates/description.html``), that file is held back as
one decision and every other value is still written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evalai_mirror.records import field, record

from . import catalogue as cat
from .catalogue import Kind
from .challenge import LocalChallenge, YamlPath, normalise
from .errors import ConfigError, SyncError
from .merge import MISSING
from .source import FileSource
from .values import parse_date

_LEAD = re.compile(r"^\s*")
_TRAIL = re.compile(r"\s*$")


@record
class LocalWrite:
    """What writing some values here takes: each file's new content, and the keys held back
    (key -> why) because their file also serves another field."""

    files: dict[str, bytes] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)


def _yaml_value(key: str, value: Any) -> Any:
    spec = cat.field_of(key)
    if spec is not None and spec.kind is Kind.DATE and isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return value


def _raw(source: FileSource, config_path: str, path: YamlPath) -> Any:
    """The config's value at ``path`` as written (None when absent or unreadable)."""
    import yaml

    raw = source.read(config_path)
    try:
        node: Any = yaml.safe_load(raw or b"")
        for part in path:
            node = node[part]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
    return node


def _keep_order(value: list[Any], old: Any) -> list[Any]:
    """A set-like list in the order the config wrote it: kept items where they were, new ones
    at the end (EvalAI keeps tags in no order, so order is not a change)."""
    before = [item for item in old if item in value] if isinstance(old, list) else []
    return list(dict.fromkeys(before)) + [item for item in value if item not in before]


def html_bytes(value: Any, old: bytes | None) -> bytes:
    """``value`` as the HTML file's content: the old file's line endings and the whitespace
    before and after its text kept (EvalAI trims text; that is not an edit)."""
    text = "" if value is None else str(value).replace("\r\n", "\n")
    if old is None:
        return (text + "\n").encode("utf-8") if text else b""
    old_text = old.decode("utf-8", "replace")
    eol = "\r\n" if "\r\n" in old_text else "\n"
    if old_text.strip():
        lead = _LEAD.match(old_text)
        trail = _TRAIL.search(old_text)
        before = lead.group(0) if lead else ""
        after = trail.group(0) if trail else ""
    else:
        before, after = "", old_text if old_text.endswith("\n") else ("\n" if not old else "")
    body = text.replace("\n", eol) if eol != "\n" else text
    return (before + body + after).encode("utf-8") if text else b""


def plan_local_changes(
    local: LocalChallenge, source: FileSource, changes: Mapping[str, Any]
) -> LocalWrite:
    """The new full content of every file that must change for the working copy to carry
    ``changes`` (key -> normalised value), and the keys held back."""
    out = LocalWrite()
    yaml_edits: dict[YamlPath, Any] = {}
    html: dict[str, dict[str, bytes]] = {}  # path -> key -> content
    for key in sorted(changes):
        value = changes[key]
        location = local.locations.get(key)
        if location is None or value is MISSING:
            group, _ = _group(key)
            phase = key.startswith(cat.PHASE_PREFIX)
            what = f"phase `{group}`" if phase else f"`{group or key}`"
            raise SyncError(
                f"{key}: {what} exists on one side only, which only a zip upload can change",
                hint="add or remove it in challenge_config.yaml, then push",
            )
        if location.yaml_path is not None:
            yaml_edits[location.yaml_path] = _yaml_value(key, value)
            spec = cat.field_of(key)
            if spec is not None and spec.kind is Kind.SET and isinstance(value, list):
                yaml_edits[location.yaml_path] = _keep_order(
                    value, _raw(source, local.config_path, location.yaml_path)
                )
            continue
        html.setdefault(location.path, {})[key] = html_bytes(value, source.read(location.path))
    for path, by_key in sorted(html.items()):
        contents = set(by_key.values())
        others = _other_fields_of(local, path, set(by_key), changes)
        new = next(iter(contents))
        if len(contents) > 1 or any(
            normalise(other, new.decode("utf-8")) != local.fields.get(other) for other in others
        ):
            shared = sorted(set(by_key) | set(others))
            for key in by_key:
                out.held[key] = f"{path} also holds {', '.join(k for k in shared if k != key)}"
            continue
        if source.read(path) != new:
            out.files[path] = new
        for key in by_key:
            if key in local.unreferenced:
                yaml_edits[local.html_refs[key]] = path
    if yaml_edits:
        from .yamledit import set_values

        raw = source.read(local.config_path)
        if raw is None:
            raise ConfigError(
                f"not found in the {source.label}",
                path=local.config_path,
                hint="restore challenge_config.yaml, then try again",
            )
        text = raw.decode("utf-8")
        new_text = set_values(text, yaml_edits, filename=local.config_path)
        if new_text != text:
            out.files[local.config_path] = new_text.encode("utf-8")
    return out


def _other_fields_of(
    local: LocalChallenge, path: str, keys: set[str], changes: Mapping[str, Any]
) -> list[str]:
    return sorted(
        other
        for other, where in local.locations.items()
        if where.path == path and where.yaml_path is None and other not in keys
        and other not in changes and other not in local.unreferenced
    )


def _group(key: str) -> tuple[str | None, str]:
    from .challenge import split_key

    return split_key(key)


def render_local_changes(
    local: LocalChallenge, source: FileSource, changes: Mapping[str, Any]
) -> dict[str, bytes]:
    """:func:`plan_local_changes`'s files, or a :class:`SyncError` when a key is held back
    (nothing is written then)."""
    planned = plan_local_changes(local, source, changes)
    if planned.held:
        key, why = sorted(planned.held.items())[0]
        raise SyncError(
            f"{key}: {why}, which would get different text; nothing was written",
            hint="give each field its own HTML file in challenge_config.yaml, then try again",
        )
    return planned.files
