"""EvalAI's answers -> evalai-mirror's exceptions: one readable line each, never raw JSON and
never the token (api.py sends; this module words what went wrong)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from evalai_mirror.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    ThrottledError,
    UnreachableError,
)

if TYPE_CHECKING:
    from evalai_mirror.http import Response

_AVAILABLE_IN = re.compile(r"available in (\d+(?:\.\d+)?) seconds?")


def error_for(
    method: str, path: str, response: Response, body: Any, *, host_url: str, team_pk: int | None
) -> ApiError:
    """The :class:`ApiError` for EvalAI's answer ``response`` (not 2xx, not 5xx) to ``method path``."""
    status = response.status_code
    detail = detail_of(body)
    where = f"{method} {path}"
    if status == 401:
        if "you are not authorized to" in detail:
            return AuthError(
                f"EvalAI refused {where}: the token's user is not a host of this challenge",
                status=status,
                body=body,
                hint=f"use the token of a member of host team {team_pk}, the team "
                "that owns the challenge",
            )
        if isinstance(body, dict) and "do not belong" in str(body.get("error", "")):
            return AuthError(
                f"you are not a member of EvalAI host team {team_pk}",
                status=status,
                body=body,
                hint="check EVALAI_TEAM_PK (your teams are on EvalAI's Host Teams page) "
                "or ask the team to add you",
            )
        if "credentials were not provided" in detail:
            reason = "no token reached EvalAI"
        else:
            reason = "EvalAI rejected the token: it is invalid or expired"
        return AuthError(
            reason,
            status=status,
            body=body,
            hint=f"get a new token from your EvalAI profile page "
            f"({host_url}/web/profile/auth-token) and set EVALAI_AUTH_TOKEN",
        )
    if status == 403:
        return ForbiddenError(
            f"EvalAI refused {where}: {detail or 'forbidden'}",
            status=status,
            body=body,
            hint="a frozen challenge keeps its dates: change them on EvalAI's admin side, "
            "or undo the change here",
        )
    if status == 406 and "Invalid domain value" in detail:
        return BadRequestError(
            f"EvalAI rejected {where}: {detail}",
            status=status,
            body=body,
            hint="use one of EvalAI's domains: CV, NLP, RL, MM, AUD, TAB",
        )
    if status in (404, 406):
        if "ChallengeHostTeam" in detail:
            return NotFoundError(
                f"EvalAI has no host team {team_pk} ({detail})",
                status=status,
                body=body,
                hint="check EVALAI_TEAM_PK (or --team-pk, or team_pk in "
                "github/host_config.json)",
            )
        return NotFoundError(
            f"EvalAI has no such object for {where}" + (f" ({detail})" if detail else ""),
            status=status,
            body=body,
            hint=f"check the challenge pk and that it belongs to host team {team_pk}",
        )
    if status == 400:
        return BadRequestError(
            f"EvalAI rejected {where}: {_bad_request(body) or detail or 'bad request'}",
            status=status,
            body=body,
            hint="fix the values named and try again",
        )
    if status == 429:
        retry_after = _retry_after(response.headers.get("retry-after"), detail)
        when = f"in {retry_after:g} s" if retry_after is not None else "in a minute"
        return ThrottledError(
            f"EvalAI is throttling requests ({detail or 'too many requests'})",
            retry_after=retry_after,
            status=status,
            body=body,
            hint=f"try again {when}",
        )
    location = response.headers.get("location") if 300 <= status < 400 else None
    if location:  # e.g. http:// where EvalAI serves https://: requests are not re-sent
        moved = urlsplit(urljoin(host_url + "/", location))
        origin = f"{moved.scheme}://{moved.netloc}"
        return ApiError(
            f"EvalAI at {host_url} redirects {where} to {origin}",
            status=status,
            body=body,
            hint=f"set the host URL to {origin}: EVALAI_HOST_URL, --host-url or "
            "evalai_host_url in github/host_config.json",
        )
    return ApiError(
        f"EvalAI answered {status} to {where}" + (f": {detail}" if detail else ""),
        status=status,
        body=body,
        hint="check the host URL and try again",
    )


def unreachable(
    method: str, path: str, exc: Exception, *, host_url: str, timeout: tuple[float, float]
) -> UnreachableError:
    """The :class:`UnreachableError` for a request that got no answer (from either transport:
    an :class:`evalai_mirror.http.NoAnswer` or a ``requests`` exception)."""
    from evalai_mirror.http import NoAnswer

    if isinstance(exc, NoAnswer):
        timed_out = exc.timeout
    else:
        import requests

        timed_out = None
        if isinstance(exc, requests.exceptions.Timeout):
            timed_out = "connect" if isinstance(exc, requests.exceptions.ConnectTimeout) else "read"
    if timed_out == "read":
        what = f"timed out after {timeout[1]:g} s"
    elif timed_out == "connect":
        what = f"did not accept a connection within {timeout[0]:g} s"
    else:
        what = "could not be reached (" + _reason(exc) + ")"
    unsure = (
        "; the change may or may not have been applied: run `evalai-mirror status`"
        if method != "GET"
        else ""
    )
    return UnreachableError(
        f"EvalAI at {host_url} {what} on {method} {path}{unsure}",
        hint="check the host URL and your network, then try again",
    )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Remote end closed",
        "Connection reset",
        "Connection aborted",
        "nodename nor servname",
        "Temporary failure in name resolution",
        "certificate verify failed",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    from evalai_mirror.http import NoAnswer

    return exc.reason if isinstance(exc, NoAnswer) else type(exc).__name__


def looks_html(response: Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return "html" in ctype or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def detail_of(body: Any) -> str:
    """EvalAI's one-line reason in an error body (``detail``, ``error`` or ``errors``)."""
    if isinstance(body, dict):
        for key in ("detail", "error", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _one_line(value)
    return ""


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _bad_request(body: Any) -> str:
    """DRF field errors as "field: message; ...", config errors as the server's lines."""
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return _one_line(body["error"])
        parts = []
        for key, value in body.items():
            messages = value if isinstance(value, list) else [value]
            text = " ".join(_one_line(str(m)) for m in messages if not isinstance(m, (dict, list)))
            if isinstance(value, dict):
                text = _bad_request(value)
            if key in ("non_field_errors", "detail"):
                parts.append(text)
            else:
                parts.append(f"{key}: {text}")
        return "; ".join(p for p in parts if p)
    if isinstance(body, list):
        return "; ".join(_one_line(str(m)) for m in body)
    return ""


def _retry_after(header: str | None, detail: str) -> float | None:
    if header:
        try:
            return max(0.0, float(header.strip()))
        except ValueError:
            pass  # an HTTP date: fall back to the body's number
    match = _AVAILABLE_IN.search(detail)
    return float(match.group(1)) if match else None
