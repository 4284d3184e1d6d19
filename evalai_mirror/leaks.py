"""A real EvalAI token in a file git tracks (and so pushes to GitHub): found, and said loudly
on every sync, by `config`, by `adopt` and by `doctor`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui

if TYPE_CHECKING:
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import Settings


def tracked_token_files(settings: Settings, repo: GitRepo | None) -> list[str]:
    """Files inside the repository that hold a real token and that git tracks (repository-relative,
    POSIX): github/host_config.json with a token, or the token file in use."""
    if repo is None or settings.repo_root is None:
        return []
    candidates: list[Path] = []
    host_config = settings_mod.read_host_config_quietly(settings.repo_root)
    if host_config is not None and host_config.get("token"):
        candidates.append(settings.repo_root / settings_mod.HOST_CONFIG)
    if settings.token_file is not None:
        candidates.append(settings.token_file)
    found: list[str] = []
    root = Path(repo.root).resolve()
    for path in candidates:
        try:
            rel = path.resolve().relative_to(root).as_posix()
        except ValueError:
            continue  # outside the repository: git cannot push it
        if rel not in found and repo.is_tracked(rel):
            found.append(rel)
    return found


def leak_warning(rel: str) -> str:
    """What to do about a real token in the tracked file ``rel``."""
    return (
        f"{rel} holds a real EvalAI token and git tracks it: it is pushed to GitHub with "
        f"the repository. Move the token to ${settings_mod.ENV_TOKEN} or "
        f"{settings_mod.EVALAI_CLI_TOKEN}, put the placeholder back in {rel} "
        '(e.g. "<evalai_user_auth_token>") and commit that, then rotate the token on your '
        "EvalAI profile page (Auth Token), since git history keeps the old one."
    )


def warn_token_leak(rel: str) -> None:
    """The loud warning for a real token in the tracked file ``rel`` (config, and every sync)."""
    ui.warn(ui.colour("TOKEN LEAK: ", "red", sys.stderr) + leak_warning(rel))
