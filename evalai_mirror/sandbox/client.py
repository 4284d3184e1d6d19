"""The few HTTP calls the ``sandbox`` command makes to a running sandbox's ``/_sandbox/`` routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from evalai_mirror.errors import UnreachableError, UsageError
from evalai_mirror.settings import is_loopback


def _post(url: str, route: str, payload: dict[str, Any]) -> Any:
    import requests

    try:
        with requests.Session() as session:
            # a proxy from the environment cannot reach this machine's sandbox
            session.trust_env = not is_loopback(urlsplit(url).hostname or "")
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


def edit(url: str, fields: dict[str, Any], *, challenge: int | None, phase: str | None) -> Any:
    """Change fields of a challenge (or of its phase ``phase``) as the EvalAI UI would."""
    return _post(url, "edit", {"challenge": challenge, "phase": phase, "fields": fields})
