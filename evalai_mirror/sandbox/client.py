"""The few HTTP calls the ``sandbox`` command makes to a running sandbox's ``/_sandbox/`` routes."""

from __future__ import annotations

from typing import Any

from evalai_mirror.errors import UnreachableError, UsageError


def _post(url: str, route: str, payload: dict[str, Any]) -> Any:
    import requests

    from evalai_mirror.http import new_session

    try:
        with new_session(url) as session:
            response = session.post(f"{url.rstrip('/')}/_sandbox/{route}", json=payload, timeout=30)
    except requests.RequestException as exc:
        raise UnreachableError(
            f"no sandbox answers at {url} ({type(exc).__name__})",
            hint="start one with `evalai-mirror sandbox`, or pass its address with --url",
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or body is None:
        detail = body if body is not None else response.text[:200]
        raise UsageError(
            f"the sandbox at {url} refused the edit ({response.status_code}): {detail}",
            hint="check the field names and values",
        )
    return body


def edit(
    url: str,
    fields: dict[str, Any],
    *,
    challenge: int | None,
    phase: str | None,
    split: str | None = None,
    leaderboard: int | None = None,
) -> Any:
    """Change fields of a challenge, or of its phase ``phase``, its dataset split ``split``,
    the split of both, or its leaderboard ``leaderboard`` (config id), as EvalAI's UI would."""
    payload = {"challenge": challenge, "phase": phase, "split": split, "leaderboard": leaderboard}
    return _post(url, "edit", {**payload, "fields": fields})
