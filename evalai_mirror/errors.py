"""One exception hierarchy for everything a user can act on.

Every error renders as a single line (``str(err)``) that says what went wrong and, through
``hint``, what to do next.  Only :mod:`evalai_mirror.cli` turns these into output and exit codes.
"""

from __future__ import annotations

from typing import Any


class MirrorError(Exception):
    """Base of every error evalai-mirror reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def summary(self) -> str:
        """The one line that says what went wrong, without the hint."""
        return " ".join(self.message.split("\n")).strip()

    def __str__(self) -> str:
        text = self.summary()
        if self.hint:
            text = f"{text} ({self.hint})" if not text.endswith(".") else f"{text} {self.hint}"
        return text


class UsageError(MirrorError):
    """The command line or an option value is wrong."""


class ConfigError(MirrorError):
    """A file the user wrote is wrong: names the file and, where known, the line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def summary(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + super().summary()


class SettingsError(MirrorError):
    """Host URL, token, team or repository settings are missing or unusable."""


class InsecureURLError(SettingsError):
    """Plain http:// to a host that is not loopback, without --allow-insecure-http."""


class GitError(MirrorError):
    """A git operation failed or the directory is not a usable repository."""


class StateError(MirrorError):
    """The sync state kept in the git directory is unreadable or locked."""


class ValidationFailed(MirrorError):
    """challenge_config.yaml (or what it names) breaks EvalAI's rules."""

    def __init__(self, message: str, *, problems: list[Any] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems or []


class ApiError(MirrorError):
    """EvalAI answered with an error, or not in the shape expected."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body
        # Set by a push that failed part-way (syncpush.PartialPush): what reached EvalAI.
        self.partial: Any = None


class AuthError(ApiError):
    """401: the token is missing, invalid or expired, or the user is not in the team."""


class ForbiddenError(ApiError):
    """403: EvalAI refuses the change (for example, dates of a frozen challenge)."""


class NotFoundError(ApiError):
    """404/406: the team, challenge or phase does not exist."""


class BadRequestError(ApiError):
    """400: EvalAI rejected the values sent (field errors, invalid config)."""


class ThrottledError(ApiError):
    """429: too many requests; ``retry_after`` seconds until the next one may go."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UnreachableError(ApiError):
    """EvalAI could not be reached, timed out, or answered 5xx / non-JSON."""


class ShapeError(ApiError):
    """EvalAI answered well-formed JSON of another shape (a title that is a list, a phase
    without a codename): checked once, at the API boundary (``answers.py``)."""


class SyncError(MirrorError):
    """A sync step cannot go on as asked."""


class RefusedError(SyncError):
    """The push or pull would overwrite something the other side changed.

    ``places`` names each field concerned, where it lives and why it stopped the command:
    ``(field key, repository path, line or None, why)``; a GitHub Actions run annotates
    each one on its file and line."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        places: list[tuple[str, str, int | None, str]] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.places = list(places or [])


class GitHubError(MirrorError):
    """The GitHub API answered with an error (webhook commands)."""
