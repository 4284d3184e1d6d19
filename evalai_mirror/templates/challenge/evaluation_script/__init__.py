"""EvalAI imports ``evaluate`` from this package to score each submission."""

from __future__ import annotations

from .main import evaluate

__all__ = ["evaluate"]
