"""``Refused``: an answer other than 200, raised anywhere in the sandbox's service layer."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """An answer other than 200: ``status`` and the JSON ``body`` EvalAI sends."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
