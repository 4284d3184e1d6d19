"""EvalAI loads ``evaluate`` from this package."""

from .main import evaluate

__all__ = ["evaluate"]
