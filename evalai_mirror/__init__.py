"""evalai-mirror: keep an EvalAI challenge repository and an EvalAI server in sync."""

from __future__ import annotations

__version__ = "0.1.0"
# The project's published home (its README, and where pre-commit fetches the hooks).  Not known
# for certain yet: this is the one place to change it.
PROJECT_URL = "https://github.com/evalai-mirror/evalai-mirror"
# What pip installs evalai-mirror from until it is published on PyPI: its git repository.
PIP_SPEC = f"evalai-mirror @ git+{PROJECT_URL}"
UPGRADE_HINT = f'upgrade evalai-mirror: pip install -U "{PIP_SPEC}"'
