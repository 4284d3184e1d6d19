"""evalai-mirror: keep an EvalAI challenge repository and an EvalAI server in sync."""

from __future__ import annotations

__version__ = "0.1.0"
