"""The `doctor` checks: the troubleshooting list, each check a pass or a fix.

Every check is read-only.  In particular the team-membership check never uploads a challenge:
it sends a body that is not a zip to ``validate_challenge_config``, which EvalAI answers with
404 (no such team), 401 "not a member" or, for a member, 400 "cannot be extracted" before it
looks at (or stores) anything.  Checks that need an earlier one to pass are skipped when it
did not.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from evalai_mirror.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConfigError,
    InsecureURLError,
    MirrorError,
    NotFoundError,
    SettingsError,
    UnreachableError,
)
from evalai_mirror.leaks import tracked_token_files
from evalai_mirror.records import asdict, record

if TYPE_CHECKING:
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import Settings

Status = Literal["pass", "warn", "fail", "skip"]
EXPIRY_WARNING_DAYS = 30
MEMBERSHIP_PROBE = b"evalai-mirror doctor: membership probe, deliberately not a zip"


@record
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _pass(name: str, message: str) -> Check:
    return Check(name, "pass", message)


def _fail(name: str, message: str, fix: str) -> Check:
    return Check(name, "fail", message, fix)


# The checks that ask EvalAI, in their order.
ONLINE_CHECKS = ("host reachable", "token valid", "host team", "challenge")


def _skip(name: str, why: str) -> Check:
    return Check(name, "skip", f"not checked: {why}")


# --------------------------------------------------------------------------- offline checks


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` of a JWT's payload, read without verifying; None when ``token`` is not a
    JWT or carries no expiry."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    exp = data.get("exp") if isinstance(data, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(exp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def check_token_expiry(token: str | None, now: datetime) -> Check:
    name = "token expiry"
    if not token:
        return _skip(name, "no token")
    expiry = jwt_expiry(token)
    if expiry is None:
        return _pass(name, "the token carries no expiry date that can be read offline")
    when = expiry.strftime("%Y-%m-%d %H:%M UTC")
    fix = "copy a new token from your EvalAI profile page (Auth Token) into EVALAI_AUTH_TOKEN"
    if expiry <= now:
        return _fail(name, f"the token expired on {when}", fix)
    days = (expiry - now).days
    if days < EXPIRY_WARNING_DAYS:
        return Check(name, "warn", f"the token expires in {days} day(s), on {when}", fix)
    return _pass(name, f"the token is valid until {when}")


def check_secure_url(settings: Settings) -> Check:
    from evalai_mirror.settings import DEFAULT_HOST_URL, is_loopback

    name = "secure host URL"
    url = settings.host_url.value or DEFAULT_HOST_URL
    parts = urlsplit(url.strip())
    if parts.scheme != "http":
        return _pass(name, f"{url} ({settings.host_url.source})")
    if parts.hostname and is_loopback(parts.hostname):
        return _pass(name, f"{url}: plain http, but only to this machine")
    return _fail(
        name,
        f"{url} ({settings.host_url.source}) is plain http to another machine: the token "
        "would cross the network in clear",
        "use the https:// address of the EvalAI API (e.g. https://eval.ai)",
    )


def check_settings(settings: Settings) -> Check:
    name = "settings"
    try:
        conn = settings.connection()
    except InsecureURLError:
        return _skip(name, "the host URL is refused (see secure host URL)")
    except MirrorError as exc:
        return _fail(name, exc.message, exc.hint or "see `evalai-mirror config`")
    return _pass(
        name,
        f"host {conn.host_url} ({settings.host_url.source}), team {conn.team_pk} "
        f"({settings.team_pk.source}), token from {settings.token.source}",
    )


def check_config(config: str, root: Path | None) -> Check:
    """``config`` (a path relative to the repository root ``root``) exists and is valid."""
    from evalai_mirror.source import WorkTreeSource
    from evalai_mirror.validate import summary, validate_source

    name = "challenge config"
    if root is None or not (root / config).is_file():
        where = root or Path.cwd()
        return _fail(
            name,
            f"no {config} at the repository root ({where})",
            "run evalai-mirror in the challenge repository; EvalAI-Starters keeps "
            f"{config} at the root (or set `config:` in .evalai-mirror.yml)",
        )
    problems = validate_source(WorkTreeSource(root), config)
    if problems:
        return _fail(
            name,
            summary(problems),
            "fix it; `evalai-mirror validate` lists every problem",
        )
    return _pass(name, f"{config} at the repository root is valid")


def _who(by: list[str], hook: str) -> str:
    from evalai_mirror import hooks

    return " and ".join(
        f"evalai-mirror's plain {hook} hook" if kind == hooks.OURS
        else f"pre-commit ({hooks.FRAMEWORK_ID[hook]})"
        for kind in by
    )


def _gone_pythons(repo: GitRepo) -> dict[str, str]:
    """Our plain hooks whose recorded Python no longer runs: {hook: that Python}."""
    import os

    from evalai_mirror import hooks

    found: dict[str, str] = {}
    for hook, kind in hooks.installed(repo).items():
        python = hooks.installed_python(repo.hooks_dir() / hook) if kind == hooks.OURS else None
        if python and not os.access(python, os.X_OK):
            found[hook] = python
    return found


def check_hooks(repo: GitRepo | None) -> Check:
    from evalai_mirror import hooks

    name = "git hooks"
    if repo is None:
        return _skip(name, "not inside a git repository")
    by = hooks.runners(repo)
    push_id = hooks.FRAMEWORK_ID["pre-push"]
    for hook in hooks.ALL:
        if len(by[hook]) > 1:
            return _fail(
                name,
                f"git runs evalai-mirror's {hook} work twice: pre-commit's hook (kept as "
                f"{hook}{hooks.LOCAL_SUFFIX}) runs {hooks.FRAMEWORK_ID[hook]}, then "
                f"evalai-mirror's plain {hook} hook does the same",
                f"run `evalai-mirror install-hooks --uninstall --hook {hook}` (pre-commit's "
                "hook goes back in place and does it once)",
            )
    gone = _gone_pythons(repo)
    if gone and by["pre-push"]:
        return Check(
            name,
            "warn",
            f"the plain {', '.join(gone)} hook(s) run evalai-mirror with "
            f"{gone[next(iter(gone))]}, which is gone; they look for evalai-mirror on PATH "
            "instead, which a GUI git client may not have",
            "rerun `evalai-mirror install-hooks` with the evalai-mirror you use now",
        )
    if by["pre-push"]:
        validates = (
            f"; each commit is validated by {_who(by['pre-commit'], 'pre-commit')}"
            if by["pre-commit"]
            else " (nothing validates at commit: `evalai-mirror install-hooks --hook "
            "pre-commit`, or evalai-validate in .pre-commit-config.yaml)"
        )
        if by["pre-push"] == [hooks.FRAMEWORK]:
            return _pass(name, f"pre-commit runs {push_id} at each git push{validates}")
        return _pass(name, f"evalai-mirror's plain pre-push hook is installed{validates}")
    if push_id in hooks.pre_commit_ids(repo.root):
        return _fail(
            name,
            f"{hooks.PRE_COMMIT_CONFIG} names {push_id}, but pre-commit's pre-push hook is not "
            "installed in this clone",
            "run `pre-commit install --hook-type pre-commit --hook-type pre-push`",
        )
    return _fail(
        name,
        "no hook sends pushes to EvalAI (git push will not update the challenge)",
        "run `evalai-mirror install-hooks`, or add evalai-push to .pre-commit-config.yaml "
        "and run `pre-commit install --hook-type pre-push`",
    )


def check_starters_workflow(root: Path | None) -> Check:
    """EvalAI-Starters' upload workflow uploads the whole challenge on each push to GitHub,
    over edits made on EvalAI: it must not run beside evalai-mirror."""
    name = "no Starters upload workflow"
    if root is None:
        return _skip(name, "not inside a git repository")
    from evalai_mirror.adoption import STARTERS_SCRIPT, starters_workflows

    found = starters_workflows(root)
    if found:
        return _fail(
            name,
            f"{', '.join(found)} runs EvalAI-Starters' {STARTERS_SCRIPT}, which uploads the "
            "whole challenge on each push to GitHub, over edits made on EvalAI",
            "run `evalai-mirror adopt --replace-workflow` (it writes evalai-mirror's "
            "workflows instead), or delete it, then commit",
        )
    return _pass(name, "no workflow uploads the whole challenge behind evalai-mirror's back")


def check_token_tracked(settings: Settings, repo: GitRepo | None) -> Check:
    name = "token not committed"
    leaks = tracked_token_files(settings, repo)
    if leaks:
        return _fail(
            name,
            f"{', '.join(leaks)} holds a real EvalAI token and git tracks it (it is pushed "
            "to GitHub)",
            "move the token to EVALAI_AUTH_TOKEN or ~/.evalai/token.json, put the placeholder "
            "back, commit, and rotate the token on your EvalAI profile page",
        )
    return _pass(name, "no file git tracks holds the token")


# --------------------------------------------------------------------------- EvalAI checks


@record
class _Online:
    reachable: Check
    token: Check
    team: Check
    challenges: list[dict[str, Any]] | None


def check_online(client: EvalAIClient) -> _Online:
    """Host reachable, token accepted, team exists and has us as a member."""
    names = ONLINE_CHECKS[:3]
    reachable = _pass(names[0], f"{client.host_url} answers")
    token = _pass(names[1], "EvalAI accepts the token")
    try:
        challenges = client.list_challenges()
    except UnreachableError as exc:
        failed = _fail(names[0], exc.message, exc.hint or "check the host URL and your network")
        return _stopped(names, [failed], "EvalAI is not reachable")
    except AuthError as exc:
        failed = _fail(names[1], exc.message, exc.hint or "get a new token")
        return _stopped(names, [reachable, failed], "the token was refused")
    except NotFoundError as exc:
        failed = _fail(names[2], exc.message, exc.hint or "check EVALAI_TEAM_PK")
        return _stopped(names, [reachable, token, failed], "")
    except ApiError as exc:
        failed = _fail(names[0], exc.message, exc.hint or "try again later")
        return _stopped(names, [failed], "EvalAI did not answer the challenge list")
    return _Online(reachable, token, check_membership(client), challenges)


def _stopped(names: tuple[str, str, str], done: list[Check], why: str) -> _Online:
    """The online checks when the challenge list failed: those ``done`` (the last one the
    failure), the rest skipped because of ``why``."""
    reachable, token, team = done + [_skip(name, why) for name in names[len(done) :]]
    return _Online(reachable, token, team, None)


def check_membership(client: EvalAIClient) -> Check:
    name = "host team"
    try:
        client.validate_zip(MEMBERSHIP_PROBE, "evalai-mirror/doctor-probe")
    except BadRequestError:
        return _pass(name, f"you are a member of host team {client.team_pk}")
    except ApiError as exc:
        return _fail(name, exc.message, exc.hint or "check EVALAI_TEAM_PK")
    return Check(
        name,
        "warn",
        f"EvalAI accepted a probe that is not a zip for team {client.team_pk}; membership "
        "is unclear",
        "check the host URL points at EvalAI's API",
    )


def check_challenge(
    client: EvalAIClient,
    challenges: list[dict[str, Any]],
    *,
    repository: str | None,
    branch: str | None,
    syncs: bool,
    recorded: int | None,
    pinned: int | None,
    claimed_by: Callable[[int], str | None],
) -> Check:
    name = "challenge"
    if not repository:
        return _fail(
            name,
            "cannot tell this repository's owner/name, which EvalAI keys the challenge by",
            "add the GitHub remote as origin, or set `repository: owner/name` in "
            ".evalai-mirror.yml",
        )
    pk = recorded or pinned
    how = "recorded by the last sync" if recorded else "pinned in .evalai-mirror.yml"
    if pk is None:
        found = [c for c in challenges if c.get("github_repository") == repository]
        if not found:
            return Check(
                name,
                "warn",
                f"EvalAI has no challenge for {repository} in team {client.team_pk} yet",
                "the first `evalai-mirror push` (or git push with the hooks) creates it",
            )
        pk = max(int(c.get("id") or 0) for c in found)
        how = f"found by repository {repository}"
    try:
        client.get_challenge(pk)
    except NotFoundError:
        return _fail(
            name,
            f"challenge {pk} ({how}) is not on EvalAI for team {client.team_pk}",
            "check EVALAI_TEAM_PK, or fix the pin in .evalai-mirror.yml; if it was deleted, "
            "forget it and push again",
        )
    except ApiError as exc:
        return _fail(name, f"challenge {pk} ({how}) could not be read: {exc}", "try again")
    page = client.challenge_page_url(pk)
    owner = claimed_by(pk) or branch
    message = f"challenge {pk} ({how}) {page}, synced from branch {owner}"
    if branch and not syncs:
        return Check(
            name,
            "warn",
            message + f"; the current branch {branch!r} does not sync",
            "check out the challenge branch, or add this one under `branches:` in "
            ".evalai-mirror.yml",
        )
    return _pass(name, message)


# --------------------------------------------------------------------------- all of them


def run_checks(args: Any = None, *, now: datetime | None = None) -> list[Check]:
    """Every doctor check, in the order a user should fix them."""
    from evalai_mirror.settings import resolve

    now = now or datetime.now(timezone.utc)
    try:
        settings = resolve(args)
    except (SettingsError, ConfigError) as exc:  # a settings file that cannot be read
        return _unreadable_settings(exc)
    repo = _open_repo(settings.repo_root)
    checks = [
        check_config(settings.repo.config, settings.repo_root),
        check_secure_url(settings),
        check_settings(settings),
        check_token_expiry(settings.token.value, now),
    ]
    if checks[1].status == "fail" or checks[2].status != "pass":
        checks.extend(_skip(n, "the settings are incomplete") for n in ONLINE_CHECKS)
    else:
        checks.extend(_online_checks(settings, repo))
    checks.append(check_hooks(repo))
    checks.append(check_starters_workflow(settings.repo_root))
    checks.append(check_token_tracked(settings, repo))
    return checks


def _unreadable_settings(exc: MirrorError) -> list[Check]:
    """The checks that can run when a settings file (``github/host_config.json``,
    ``.evalai-mirror.yml``, a token file) cannot be read: that file fails, the checks that
    need its settings are skipped, and the repository's own checks still run."""
    from evalai_mirror.settings import find_repo_root, load_repo_settings

    root = find_repo_root(Path.cwd())
    why = "the settings could not be read"
    try:
        config = check_config(load_repo_settings(root).config, root)
    except MirrorError as unreadable:  # .evalai-mirror.yml, which may name the config
        config = _fail(
            "challenge config",
            f"cannot tell which file it is: {unreadable.summary()}",
            unreadable.hint or "fix the file named there",
        )
    return [
        config,
        _skip("secure host URL", why),
        _fail("settings", exc.summary(), exc.hint or "fix the file named there"),
        _skip("token expiry", why),
        *(_skip(name, why) for name in ONLINE_CHECKS),
        check_hooks(_open_repo(root)),
        check_starters_workflow(root),
        _skip("token not committed", why),
    ]


def _open_repo(root: Path | None) -> GitRepo | None:
    from evalai_mirror.git import GitRepo

    try:
        return GitRepo.open(root or Path.cwd())
    except MirrorError:
        return None


def _online_checks(settings: Settings, repo: GitRepo | None) -> list[Check]:
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.state import StateStore

    with EvalAIClient(settings.connection(), retries=0) as client:
        online = check_online(client)
        result = [online.reachable, online.token, online.team]
        if online.challenges is None:
            return [*result, _skip("challenge", "EvalAI could not be asked")]
        branch = None
        repository = settings.repo.repository
        recorded = None
        store = None
        if repo is not None:
            try:
                branch = repo.current_branch()
                repository = repository or repo.origin_repository()
                store = StateStore(repo.git_dir)
                state = store.load(branch) if branch else None
                recorded = state.challenge_pk if state else None
            except MirrorError as exc:
                store = None
                result.append(_fail("sync state", exc.message, exc.hint or "see the message"))
        result.append(
            check_challenge(
                client,
                online.challenges,
                repository=repository,
                branch=branch,
                syncs=bool(branch) and settings.repo.branch_syncs(branch or ""),
                recorded=recorded,
                pinned=settings.repo.challenge_pk(branch) if branch else None,
                claimed_by=store.branch_for_challenge if store else (lambda _pk: None),
            )
        )
        return result
