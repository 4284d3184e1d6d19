"""`evalai-mirror config`: every resolved setting, where it came from, and token leaks.

The token is shown masked, never in full.  When a real token sits in a file that git tracks
(EvalAI-Starters' github/host_config.json usually is), that file goes to GitHub with the next
push: the command says so loudly and says how to fix it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui
from evalai_mirror.errors import GitError, MirrorError
from evalai_mirror.leaks import tracked_token_files, warn_token_leak
from evalai_mirror.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the settings as JSON")
    settings_mod.add_connection_arguments(parser)


def _git_facts(settings: Settings) -> tuple[Any | None, str | None]:
    """(the GitRepo or None outside git, owner/name of origin or None)."""
    if settings.repo_root is None:
        return None, None
    try:
        from evalai_mirror.git import GitRepo

        repo = GitRepo.open(settings.repo_root)
    except GitError:
        return None, None
    try:
        origin = repo.origin_repository()
    except GitError:
        origin = None
    return repo, origin


def _connection_problem(settings: Settings) -> str | None:
    try:
        settings.connection()
    except MirrorError as exc:
        return str(exc)
    return None


def _repo_settings(settings: Settings, origin: str | None) -> dict[str, Any]:
    repo = settings.repo

    def src(key: str) -> str:
        return settings_mod.SETTINGS_FILE if key in repo.explicit else "default"

    repository: dict[str, str | None]
    if repo.repository:
        repository = {"value": repo.repository, "source": settings_mod.SETTINGS_FILE}
    elif origin:
        repository = {"value": origin, "source": "git remote origin"}
    else:
        repository = {"value": None, "source": "unset"}
    return {
        "file": str(repo.path) if repo.path else None,
        "repository": repository,
        "branches": {"value": list(repo.branches), "source": src("branches")},
        "challenges": {"value": dict(repo.challenges), "source": src("challenges")},
        "poll_interval": {"value": repo.poll_interval, "source": src("poll_interval")},
        "config": {"value": repo.config, "source": src("config")},
    }


def report(settings: Settings, origin: str | None, leaks: list[str]) -> dict[str, Any]:
    """What `config --json` prints (the token masked)."""
    return {
        "host_url": {"value": settings.host_url.value, "source": settings.host_url.source},
        "token": {
            "value": ui.mask(settings.token.value) if settings.token.value else None,
            "source": settings.token.source,
        },
        "token_file": str(settings.token_file) if settings.token_file else None,
        "team_pk": {"value": settings.team_pk.value, "source": settings.team_pk.source},
        "allow_insecure_http": settings.allow_insecure_http,
        "repo_root": str(settings.repo_root) if settings.repo_root else None,
        "repository_settings": _repo_settings(settings, origin),
        "problem": _connection_problem(settings),
        "token_in_tracked_files": leaks,
    }


def _row(name: str, value: object, source: str) -> str:
    return f"  {name:<15} {value!s:<44} ({source})"


def _print_text(data: dict[str, Any]) -> None:
    ui.out("EvalAI connection:")
    ui.out(_row("host URL", data["host_url"]["value"], data["host_url"]["source"]))
    token_src = data["token"]["source"]
    if data["token_file"] and token_src == "--token-file":
        token_src = f"{token_src}: {data['token_file']}"
    ui.out(_row("token", data["token"]["value"] or "(unset)", token_src))
    ui.out(_row("team pk", data["team_pk"]["value"] or "(unset)", data["team_pk"]["source"]))
    ui.out(
        _row(
            "insecure http",
            "allowed" if data["allow_insecure_http"] else "refused",
            "--allow-insecure-http" if data["allow_insecure_http"] else "default",
        )
    )
    repo = data["repository_settings"]
    ui.out(f"Repository: {data['repo_root'] or '(none found: not inside a challenge repository)'}")
    ui.out(
        f"  settings file   {repo['file'] or f'(none: {settings_mod.SETTINGS_FILE} not found, defaults)'}"
    )
    ui.out(
        _row("repository", repo["repository"]["value"] or "(unset)", repo["repository"]["source"])
    )
    ui.out(_row("branches", ", ".join(repo["branches"]["value"]), repo["branches"]["source"]))
    pins = repo["challenges"]["value"]
    pinned = ", ".join(f"{b} -> {pk}" for b, pk in sorted(pins.items())) or "(found by repository)"
    ui.out(_row("challenges", pinned, repo["challenges"]["source"]))
    ui.out(
        _row(
            "poll interval",
            f"{repo['poll_interval']['value']:g} s",
            repo["poll_interval"]["source"],
        )
    )
    ui.out(_row("config", repo["config"]["value"], repo["config"]["source"]))


def run(args: argparse.Namespace) -> int:
    settings = settings_mod.resolve(args)
    repo, origin = _git_facts(settings)
    leaks = tracked_token_files(settings, repo)
    data = report(settings, origin, leaks)
    if getattr(args, "json", False):
        ui.out(json.dumps(data, indent=2, sort_keys=True))
    else:
        _print_text(data)
    if data["problem"]:
        ui.warn(f"not ready to talk to EvalAI: {data['problem']}")
    for rel in leaks:
        ui.err("")
        ui.err(ui.colour("!" * 78, "red", sys.stderr))
        warn_token_leak(rel)
        ui.err(ui.colour("!" * 78, "red", sys.stderr))
    return 0
