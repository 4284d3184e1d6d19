"""Terminal output: one place that writes, redacts secrets and decides on colour.

Commands write through these helpers so that a token registered with :func:`register_secret`
can never reach the terminal, whatever message carries it.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_SECRETS: set[str] = set()
REDACTED = "***"


def register_secret(value: str | None) -> None:
    """Never print ``value``: every later line has it replaced by ``***``."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def mask(value: str | None) -> str:
    """A token shown as its length and last four characters at most, never in full."""
    if not value:
        return "(unset)"
    if len(value) <= 8:
        return REDACTED
    return f"{REDACTED}{value[-4:]} ({len(value)} chars)"


def use_colour(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def terminal_size(stream: TextIO | None) -> tuple[int, int]:
    """(columns, lines) of the terminal ``stream`` writes to; (0, 0) when it is not one."""
    try:
        size = os.get_terminal_size(stream.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 0, 0
    return size.columns, size.lines


def columns(fallback: int = 80) -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS`` first, then
    the terminal on standard output, else ``fallback``), without importing shutil, which
    brings in the compression modules: the CLI's help formatter asks on every command."""
    try:
        given = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        given = 0
    return given if given > 0 else terminal_size(sys.__stdout__)[0] or fallback


_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}


def colour(text: str, name: str, stream: TextIO | None = None) -> str:
    if not use_colour(stream):
        return text
    return f"\033[{_CODES[name]}m{text}\033[0m"


def diff_line(line: str) -> str:
    """One line of a unified diff, coloured as git colours it (headers bold, ``+`` green,
    ``-`` red, hunk headers blue); unchanged when colour is off."""
    if line.startswith(("+++", "---")):
        return colour(line, "bold")
    if line.startswith("+"):
        return colour(line, "green")
    if line.startswith("-"):
        return colour(line, "red")
    if line.startswith("@@"):
        return colour(line, "blue")
    return line


def out(text: str = "", *, reveal: bool = False) -> None:
    """A line of normal output, on stdout.  ``reveal`` skips redaction: only for a secret
    printed on purpose (the sandbox's own throwaway token)."""
    sys.stdout.write((text if reveal else redact(text)) + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    """A line for the user's attention (warnings, errors), on stderr."""
    sys.stderr.write(redact(text) + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    err(colour("warning: ", "yellow", sys.stderr) + text)


def interactive() -> bool:
    """Whether a person can answer questions: stdin and stdout are terminals."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def ask(question: str, answers: dict[str, str], default: str) -> str:
    """Ask until one of ``answers`` (letter -> what it means) is typed; the letter.  An empty
    answer is ``default``; end of input is ``default`` too (nothing more will be typed)."""
    shown = "/".join(a.upper() if a == default else a for a in answers)
    while True:
        sys.stdout.write(redact(f"{question} [{shown}] "))
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            sys.stdout.write("\n")
            return default
        reply = line.strip()
        if not reply:
            return default
        if reply in answers:
            return reply
        if reply.lower() in answers:
            return reply.lower()
        out("  answer " + ", ".join(f"{a} ({meaning})" for a, meaning in answers.items()))
