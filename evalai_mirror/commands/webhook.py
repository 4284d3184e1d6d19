"""``evalai-mirror webhook install | status | remove | verify``: the GitHub push webhook to EvalAI.

The hook sends ``push`` events as JSON, signed with a generated secret (HMAC-SHA256 in
``X-Hub-Signature-256``), to ``<EvalAI host>/api/v1/challenges/github/webhook/`` unless
``--payload-url`` says otherwise.  The secret is shown once and stored nowhere.  GitHub hooks
have no free-text field, so "our" hook is the one whose payload URL is that URL: ``remove``
deletes only such hooks.  An EvalAI on a loopback or private address is out of GitHub's reach,
so ``install`` then does nothing, points to ``watch`` and the git hooks instead, and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from evalai_mirror import settings, ui
from evalai_mirror.errors import ConfigError, GitError, GitHubError, MirrorError, UsageError
from evalai_mirror.records import record

if TYPE_CHECKING:  # pragma: no cover
    from evalai_mirror.github import GitHubClient, Hook

# The receiving path on the EvalAI host.  Note: Cloud-CV/EvalAI's own URL configuration
# (evalai/urls.py -> api/challenges/ -> apps/challenges/urls.py) has no GitHub webhook route;
# its GitHub flow is the EvalAI-Starters Actions workflow calling
# create_or_update_github_challenge.  A receiver must exist at this path, else use --payload-url.
WEBHOOK_PATH = "/api/v1/challenges/github/webhook/"
ROUTE_NOTE = (
    "note: stock EvalAI (Cloud-CV/EvalAI) has no GitHub webhook route at "
    f"{WEBHOOK_PATH}; deliveries succeed only if your EvalAI server has a receiver there "
    "(otherwise point --payload-url at yours)"
)
TOKEN_HELP = "AUTH_TOKEN (as EvalAI-Starters names it) or GITHUB_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="webhook_action", metavar="ACTION")
    sub.required = True
    install = sub.add_parser(
        "install",
        help="create (or update) the push webhook to EvalAI",
        description="Create the GitHub webhook that sends push events to EvalAI, or update "
        "the one that exists (same payload URL). The secret is shown once and stored nowhere. "
        "Exit 1 when it declines: GitHub cannot reach a localhost or private EvalAI.",
    )
    _add_target_arguments(install)
    install.add_argument(
        "--rotate-secret",
        action="store_true",
        help="give an existing hook a new secret (by default its secret is kept)",
    )
    status = sub.add_parser(
        "status",
        help="list the hooks pointing at EvalAI and their last delivery",
        description="List the repository's webhooks that point at the EvalAI host, with "
        "their last delivery. Exit 1 when there is none.",
    )
    _add_target_arguments(status)
    remove = sub.add_parser(
        "remove",
        help="delete the webhook `install` made (matched by payload URL)",
        description="Delete the webhook whose payload URL is EvalAI's; other hooks are "
        "never touched.",
    )
    _add_target_arguments(remove)
    remove.add_argument(
        "--hook-id", type=int, metavar="N", help="delete only hook N (it must be ours)"
    )
    verify = sub.add_parser(
        "verify",
        help="check a saved delivery's X-Hub-Signature-256",
        description="Check the HMAC-SHA256 signature of a saved delivery: the exact payload "
        "bytes and its headers (JSON object, or 'Name: value' lines). Exit 0 when valid, 1 "
        "when not.",
    )
    verify.add_argument(
        "--secret-env",
        required=True,
        metavar="VAR",
        help="the environment variable holding the webhook secret (never on the command line)",
    )
    verify.add_argument("--payload", required=True, metavar="FILE", help="the raw request body")
    verify.add_argument("--headers", required=True, metavar="FILE", help="the request headers")


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "GitHub", f"The GitHub token comes from {TOKEN_HELP}, never from a flag."
    )
    group.add_argument(
        "--repo", metavar="OWNER/NAME", help="the GitHub repository (default: from origin)"
    )
    group.add_argument(
        "--api-url",
        metavar="URL",
        help="GitHub API base (default https://api.github.com; Enterprise: https://HOST/api/v3)",
    )
    group.add_argument(
        "--payload-url",
        metavar="URL",
        help=f"where GitHub sends pushes (default: <EvalAI host>{WEBHOOK_PATH})",
    )
    settings.add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "webhook_action", None)
    if action == "verify":
        return _verify(args)
    if action == "install":
        return _install(args)
    if action == "status":
        return _status(args)
    if action == "remove":
        return _remove(args)
    raise UsageError("say what to do: evalai-mirror webhook install | status | remove | verify")


# --- where and with what ------------------------------------------------------------------------


@record(frozen=True)
class _Target:
    payload_url: str
    host_url: str
    host_source: str
    api_url: str
    configured_repo: str | None  # `repository:` in .evalai-mirror.yml


def _target(args: argparse.Namespace) -> _Target:
    from evalai_mirror.github import DEFAULT_API_URL

    resolved = settings.resolve(args, cwd=Path.cwd())
    host = (resolved.host_url.value or "").strip().rstrip("/")
    explicit = getattr(args, "payload_url", None)
    if explicit:
        payload_url = explicit.strip()
    elif host:
        payload_url = host + WEBHOOK_PATH
    else:
        raise UsageError(
            "no EvalAI host URL: set --host-url, EVALAI_HOST_URL or evalai_host_url in "
            "github/host_config.json, or pass --payload-url"
        )
    api_url = (getattr(args, "api_url", None) or DEFAULT_API_URL).strip().rstrip("/")
    return _Target(
        payload_url, host, resolved.host_url.source, api_url, resolved.repo.repository
    )


def _repository(args: argparse.Namespace, target: _Target) -> str:
    explicit = getattr(args, "repo", None)
    if explicit:
        return _check_repo(explicit.strip(), "--repo")
    if target.configured_repo:
        return _check_repo(target.configured_repo, ".evalai-mirror.yml")
    from evalai_mirror.git import GitRepo

    try:
        repo = GitRepo.open(Path.cwd()).origin_repository()
    except GitError:
        raise UsageError(
            "not inside a git repository, so the GitHub repository is unknown: run this in the "
            "challenge repository or pass --repo OWNER/NAME"
        ) from None
    if not repo:
        raise UsageError(
            "cannot tell the GitHub repository: there is no origin remote with an owner/name "
            "path; pass --repo OWNER/NAME"
        )
    return _check_repo(repo, "the origin remote")


def _check_repo(value: str, source: str) -> str:
    owner, sep, name = value.partition("/")
    if not sep or not owner or not name or "/" in name or " " in value:
        raise UsageError(f"{value!r} (from {source}) is not OWNER/NAME; pass --repo OWNER/NAME")
    return value


def _token() -> str:
    from evalai_mirror.github import TOKEN_ENV_VARS, GitHubAuthError

    for name in TOKEN_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            ui.register_secret(value)
            return value
    raise GitHubAuthError(
        f"no GitHub token: set {TOKEN_HELP} to a token with the admin:repo_hook (or repo) "
        "scope (fine-grained: 'Webhooks: Read and write' on this repository)"
    )


def _client(target: _Target) -> GitHubClient:
    from evalai_mirror.github import GitHubClient

    return GitHubClient(_token(), api_url=target.api_url)


def _describe(hook: Hook) -> str:
    events = ",".join(hook.events) or "(none)"
    secret = "set" if hook.has_secret else "NONE"
    state = "active" if hook.active else "INACTIVE"
    return (
        f"hook {hook.id}: {hook.url}  events={events}  {state}  "
        f"content={hook.content_type}  secret={secret}"
    )


def _show_secret(secret: str) -> None:
    ui.out(f"webhook secret (shown once; evalai-mirror stores it nowhere): {secret}")
    ui.out(
        "  keep it where your receiving side reads it (never in the repository); "
        "`evalai-mirror webhook verify` checks a delivery with it"
    )


def _manual_steps(repo: str | None, target: _Target, secret: str) -> None:
    from evalai_mirror.github import web_url

    where = f"{web_url(target.api_url)}/{repo or '<owner>/<repo>'}/settings/hooks/new"
    for line in (
        "to add the webhook by hand instead: Settings -> Webhooks -> Add webhook",
        f"  open:         {where}",
        f"  Payload URL:  {target.payload_url}",
        "  Content type: application/json",
        f"  Secret:       {secret}   (generated now, shown once, stored nowhere)",
        '  Which events: "Just the push event."',
        "  Active:       checked, then press Add webhook",
    ):
        ui.err(line)


# --- install --------------------------------------------------------------------------------------


def _install(args: argparse.Namespace) -> int:
    from evalai_mirror.github import hooks_to, unreachable_reason

    target = _target(args)
    if target.host_source == "default" and not getattr(args, "payload_url", None):
        ui.warn(
            f"no EvalAI host configured, using the default {target.host_url}: set --host-url, "
            "EVALAI_HOST_URL or evalai_host_url in github/host_config.json if that is not yours"
        )
    reason = unreachable_reason(target.payload_url)
    if reason:
        # A refusal, not a success: scripts must not take it for an installed webhook.
        raise MirrorError(
            f"not installing a webhook: GitHub cannot reach {target.payload_url} ({reason})",
            hint="keep this machine's EvalAI in sync with `evalai-mirror watch` and the git "
            "hooks (`evalai-mirror install-hooks`) instead",
        )
    if target.payload_url.startswith("http://"):
        ui.warn(
            f"{target.payload_url} is plain http: payloads travel unencrypted (the signature "
            "still proves where they came from); prefer https"
        )
    repo: str | None = None
    try:
        repo = _repository(args, target)
        with _client(target) as client:
            matches = hooks_to(client.list_hooks(repo), target.payload_url)
            if not matches:
                secret = secrets.token_hex(32)
                hook = client.create_hook(repo, url=target.payload_url, secret=secret)
                ui.out(f"created webhook {hook.id} on {repo}: push events -> {hook.url}")
                ui.out("  content type application/json, active, signed (X-Hub-Signature-256)")
                _show_secret(secret)
            else:
                _update(client, repo, matches, target, rotate=bool(args.rotate_secret))
    except (GitHubError, UsageError):
        _manual_steps(repo, target, secrets.token_hex(32))
        raise
    if not getattr(args, "payload_url", None):
        ui.out(ROUTE_NOTE)
    return 0


def _update(
    client: GitHubClient, repo: str, matches: list[Hook], target: _Target, *, rotate: bool
) -> None:
    hook = matches[0]
    for extra in matches[1:]:
        ui.warn(
            f"hook {extra.id} on {repo} also points at {extra.url}; only hook {hook.id} was "
            "checked: run `evalai-mirror webhook remove --hook-id N` for the duplicate"
        )
    changes: list[str] = []
    if tuple(hook.events) != ("push",) or not hook.active:
        client.update_hook(repo, hook.id, events=("push",), active=True)
        changes.append("events=push, active")
    new_secret: str | None = None
    if rotate:
        new_secret = secrets.token_hex(32)
    elif not hook.has_secret:
        new_secret = secrets.token_hex(32)
        changes.append("it had no secret: set one")
    config_stale = (
        hook.content_type != "json" or hook.insecure_ssl != "0" or hook.url != target.payload_url
    )
    if config_stale or new_secret is not None:
        client.update_hook_config(repo, hook.id, url=target.payload_url, secret=new_secret)
        if config_stale:
            changes.append("content type json, SSL verification on")
        if rotate:
            changes.append("new secret")
    if changes:
        ui.out(f"updated webhook {hook.id} on {repo} ({'; '.join(changes)}): {target.payload_url}")
    else:
        ui.out(f"webhook {hook.id} on {repo} is already installed: push events -> {hook.url}")
    if new_secret is not None:
        _show_secret(new_secret)
    else:
        ui.out(
            "kept the hook's existing secret (GitHub never shows it); pass --rotate-secret "
            "to set a new one"
        )


# --- status and remove ----------------------------------------------------------------------------


def _points_at_evalai(hook: Hook, target: _Target) -> bool:
    from urllib.parse import urlsplit

    from evalai_mirror.github import same_url

    if same_url(hook.url, target.payload_url):
        return True
    hosts = {urlsplit(u).netloc.lower() for u in (target.payload_url, target.host_url) if u}
    return urlsplit(hook.url).netloc.lower() in hosts


def _status(args: argparse.Namespace) -> int:
    target = _target(args)
    repo = _repository(args, target)
    with _client(target) as client:
        hooks = client.list_hooks(repo)
        ours = [hook for hook in hooks if _points_at_evalai(hook, target)]
        if not ours:
            ui.out(
                f"no webhook on {repo} points at EvalAI ({target.payload_url}); "
                "run `evalai-mirror webhook install`"
            )
            return 1
        for hook in ours:
            ui.out(_describe(hook))
            for problem in _problems(hook, target):
                ui.warn(f"hook {hook.id}: {problem}")
            deliveries = client.list_deliveries(repo, hook.id, per_page=1)
            if not deliveries:
                ui.out("  last delivery: none yet (push to the repository to trigger one)")
                continue
            last = deliveries[0]
            verdict = "ok" if last.ok else "FAILED"
            ui.out(
                f"  last delivery: {last.delivered_at} {last.event} -> {last.status_code} "
                f"{last.status} ({verdict})"
            )
            if not last.ok:
                ui.out(
                    "  check the receiving side; `evalai-mirror webhook verify` checks a saved "
                    "delivery's signature"
                )
    others = len(hooks) - len(ours)
    if others:
        ui.out(f"({others} other hook(s) on {repo} do not point at EvalAI and are not shown)")
    return 0


def _problems(hook: Hook, target: _Target) -> list[str]:
    from evalai_mirror.github import same_url

    problems: list[str] = []
    if not same_url(hook.url, target.payload_url):
        problems.append(f"payload URL is not {target.payload_url}")
    if tuple(hook.events) != ("push",):
        problems.append("events are not just push; `webhook install` fixes it")
    if not hook.active:
        problems.append("inactive; `webhook install` activates it")
    if hook.content_type != "json":
        problems.append("content type is not json; `webhook install` fixes it")
    if not hook.has_secret:
        problems.append("no secret: deliveries cannot be verified; `webhook install` sets one")
    return problems


def _remove(args: argparse.Namespace) -> int:
    from evalai_mirror.github import hooks_to, web_url

    target = _target(args)
    repo = _repository(args, target)
    with _client(target) as client:
        hooks = client.list_hooks(repo)
        ours = hooks_to(hooks, target.payload_url)
        if args.hook_id is not None:
            chosen = [hook for hook in hooks if hook.id == args.hook_id]
            if not chosen:
                raise UsageError(
                    f"{repo} has no webhook {args.hook_id}; `evalai-mirror webhook status` "
                    "lists them"
                )
            if chosen[0] not in ours:
                raise UsageError(
                    f"refusing to delete hook {args.hook_id}: it points at {chosen[0].url}, not "
                    f"at {target.payload_url}, so evalai-mirror did not make it; delete it at "
                    f"{web_url(target.api_url)}/{repo}/settings/hooks if you mean to"
                )
            ours = chosen
        if not ours:
            ui.out(f"no webhook for {target.payload_url} on {repo}: nothing to remove")
        for hook in ours:
            client.delete_hook(repo, hook.id)
            ui.out(f"removed webhook {hook.id} ({hook.url}) from {repo}")
    left = len(hooks) - len(ours)
    if left:
        ui.out(f"left {left} other hook(s) on {repo} alone")
    return 0


# --- verify ---------------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    from evalai_mirror.github import SIGNATURE_HEADER, check_signature

    secret = os.environ.get(args.secret_env)
    if not secret:
        raise UsageError(
            f"environment variable {args.secret_env} is not set: export it with the webhook "
            "secret that `evalai-mirror webhook install` showed"
        )
    ui.register_secret(secret)
    body = _read_bytes(args.payload)
    headers = parse_headers(_read_bytes(args.headers), args.headers)
    valid, reason = check_signature(secret.encode("utf-8"), body, _header(headers, SIGNATURE_HEADER))
    if valid:
        ui.out(reason)
        return 0
    ui.err(f"invalid: {reason}")
    return 1


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}; check the path") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def parse_headers(data: bytes, path: str) -> dict[str, str]:
    """Headers saved as a JSON object (also GitHub's delivery JSON, ``request.headers``) or as
    ``Name: value`` lines (an HTTP request line first is skipped; a blank line ends them)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", path=path, hint="save the headers as text") from None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}", path=path, line=exc.lineno,
                hint="fix the JSON, or save the headers as 'Name: value' lines",
            ) from None
        request = obj.get("request") if isinstance(obj, dict) else None
        if isinstance(request, dict) and isinstance(request.get("headers"), dict):
            obj = request["headers"]
        if not isinstance(obj, dict):
            raise ConfigError("must be a JSON object of header names to values", path=path, line=1)
        return {str(k): str(v) for k, v in obj.items()}
    headers: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if headers:
                break
            continue
        if number == 1 and " HTTP/" in line and ":" not in line.split(" ", 1)[0]:
            continue  # "POST /path HTTP/1.1"
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise ConfigError(
                f"not a header line: {line[:40]!r}", path=path, line=number,
                hint="write one 'Name: value' per line, or a JSON object",
            )
        headers[name.strip()] = value.strip()
    return headers
