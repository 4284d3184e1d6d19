"""Where evalai-mirror finds the EvalAI host, token and team, and the repository's own settings.

Connection values are resolved in this order, first one set wins:

1. command-line flags (``--host-url``, ``--token-file``, ``--team-pk``);
2. the environment (``EVALAI_HOST_URL`` or evalai-cli's ``EVALAI_API_URL``, ``EVALAI_AUTH_TOKEN``,
   ``EVALAI_TEAM_PK``);
3. EvalAI-Starters' ``github/host_config.json`` (``evalai_host_url``, ``token``, ``team_pk``);
4. evalai-cli's ``~/.evalai/host_url`` and ``~/.evalai/token.json``;
5. for the host URL only, EvalAI-Starters' default ``https://eval.ai``.

Empty strings and placeholders such as ``<evalai_user_auth_token>`` count as unset everywhere.
Non-secret repository settings live in ``.evalai-mirror.yml`` at the repository root.

This module must stay cheap to import (``validate`` may use it): no git, no HTTP.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evalai_mirror import ui
from evalai_mirror.errors import ConfigError, InsecureURLError, SettingsError, UsageError
from evalai_mirror.records import field, record

DEFAULT_HOST_URL = "https://eval.ai"
HOST_CONFIG = "github/host_config.json"
SETTINGS_FILE = ".evalai-mirror.yml"
DEFAULT_BRANCHES: tuple[str, ...] = ("challenge", "challenge-*")
DEFAULT_POLL_INTERVAL = 6.5  # watch: 3 requests a poll (27.7 a minute), under half of EvalAI's 60
DEFAULT_CONFIG = "challenge_config.yaml"

ENV_HOST_URL = "EVALAI_HOST_URL"
ENV_API_URL = "EVALAI_API_URL"  # evalai-cli's name for the same thing
ENV_TOKEN = "EVALAI_AUTH_TOKEN"
ENV_TEAM_PK = "EVALAI_TEAM_PK"
ENV_ALLOW_INSECURE = "EVALAI_MIRROR_ALLOW_INSECURE_HTTP"

EVALAI_CLI_TOKEN = "~/.evalai/token.json"
EVALAI_CLI_HOST_URL = "~/.evalai/host_url"

_PLACEHOLDER = re.compile(r"^<[^<>]*>$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_TRUE = {"1", "true", "yes", "on"}


def clean(value: object) -> str | None:
    """A setting's text, or None for nothing, an empty string or a ``<placeholder>``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or _PLACEHOLDER.match(text):
        return None
    return text


@record(frozen=True)
class Setting:
    """One resolved value and where it came from ("--host-url", "EVALAI_AUTH_TOKEN", ...)."""

    value: str | None
    source: str

    @property
    def is_set(self) -> bool:
        return self.value is not None


UNSET = Setting(None, "unset")


@record(frozen=True)
class Connection:
    """Everything the API client needs: a checked host URL (no trailing slash), token, team."""

    host_url: str
    token: str
    team_pk: int

    def __repr__(self) -> str:  # never show the token, even in a debugger or a crash log
        return f"Connection(host_url={self.host_url!r}, token='***', team_pk={self.team_pk})"


@record(frozen=True)
class RepoSettings:
    """The committed, non-secret settings of one repository (``.evalai-mirror.yml``)."""

    path: Path | None = None  # the file they were read from, None when there is none
    repository: str | None = None  # owner/name, overriding the identity taken from origin
    branches: tuple[str, ...] = DEFAULT_BRANCHES
    challenges: Mapping[str, int] = field(default_factory=dict)  # branch -> challenge pk
    poll_interval: float = DEFAULT_POLL_INTERVAL
    config: str = DEFAULT_CONFIG
    explicit: frozenset[str] = frozenset()  # the keys the file set (the rest are defaults)

    def branch_syncs(self, branch: str) -> bool:
        """Whether ``branch`` is one that is mirrored to EvalAI (glob patterns, case-sensitive)."""
        if branch in self.challenges:
            return True
        return any(fnmatch.fnmatchcase(branch, pattern) for pattern in self.branches)

    def challenge_pk(self, branch: str) -> int | None:
        """The challenge pk pinned to ``branch`` in the file, if any."""
        return self.challenges.get(branch)


@record(frozen=True)
class Settings:
    host_url: Setting
    token: Setting
    team_pk: Setting
    repo_root: Path | None
    repo: RepoSettings
    allow_insecure_http: bool = False
    token_file: Path | None = None  # the file the token was read from, if any

    def __repr__(self) -> str:
        token = Setting(ui.mask(self.token.value), self.token.source)
        return (
            f"Settings(host_url={self.host_url!r}, token={token!r}, team_pk={self.team_pk!r}, "
            f"repo_root={self.repo_root!r}, repo={self.repo!r}, "
            f"allow_insecure_http={self.allow_insecure_http}, token_file={self.token_file!r})"
        )

    def connection(self) -> Connection:
        """The checked connection; raises SettingsError naming what is missing or wrong."""
        missing = []
        if self.token.value is None:
            missing.append(
                f"the EvalAI token (set {ENV_TOKEN}, or pass --token-file FILE, or save it "
                f"with evalai-cli in {EVALAI_CLI_TOKEN})"
            )
        if self.team_pk.value is None:
            missing.append(
                f"the host team pk (set {ENV_TEAM_PK}, or pass --team-pk N, or fill "
                f'"team_pk" in {HOST_CONFIG})'
            )
        if missing:
            raise SettingsError(
                "missing " + " and ".join(missing) + "; the token is on your EvalAI profile "
                "page (Auth Token), the team pk on the Host Teams page"
            )
        assert self.token.value is not None and self.team_pk.value is not None
        host = check_host_url(
            self.host_url.value or DEFAULT_HOST_URL,
            source=self.host_url.source,
            allow_insecure_http=self.allow_insecure_http,
        )
        try:
            team = int(self.team_pk.value)
        except ValueError:
            team = -1
        if team <= 0:
            raise SettingsError(
                f"host team pk {self.team_pk.value!r} (from {self.team_pk.source}) is not a "
                "positive integer: set it to your host team's number, e.g. EVALAI_TEAM_PK=42"
            )
        return Connection(host_url=host, token=self.token.value, team_pk=team)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost (with or without a trailing dot)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    import socket  # loaded already where a server is asked; ipaddress would cost a hook 1.5 ms

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(family, name)
        except (OSError, ValueError):  # not an address of this family
            continue
        return packed[0] == 127 if family == socket.AF_INET else packed == bytes(15) + b"\1"
    return False


def check_host_url(
    url: str, *, source: str = "--host-url", allow_insecure_http: bool = False
) -> str:
    """``url`` without trailing slashes, refusing what is not http(s) or is plain http off-box."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"host URL {url!r} (from {source}) is not an http(s) URL: use the EvalAI API "
            "address, e.g. https://eval.ai"
        )
    if parts.query or parts.fragment:
        raise SettingsError(
            f"host URL {url!r} (from {source}) has a query or fragment: use only "
            "scheme, host and port, e.g. https://eval.ai"
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise InsecureURLError(
            f"refusing to send the EvalAI token over plain http to {parts.hostname} "
            f"(host URL from {source}): use https://, or pass --allow-insecure-http if you "
            "really mean it"
        )
    return text


# --- the command line -------------------------------------------------------------------------


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every command that talks to EvalAI takes."""
    group = parser.add_argument_group("EvalAI connection")
    group.add_argument(
        "--host-url",
        metavar="URL",
        help=f"EvalAI API address (default: ${ENV_HOST_URL}, {HOST_CONFIG}, "
        f"{EVALAI_CLI_HOST_URL}, then {DEFAULT_HOST_URL})",
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"read the EvalAI token from PATH (plain text, or JSON like {EVALAI_CLI_TOKEN}); "
        f"default: ${ENV_TOKEN}, {HOST_CONFIG}, {EVALAI_CLI_TOKEN}",
    )
    group.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"the token itself: discouraged, it leaks into shell history and `ps`; "
        f"prefer ${ENV_TOKEN} or --token-file",
    )
    group.add_argument(
        "--team-pk",
        metavar="N",
        help=f"the EvalAI host team's pk (default: ${ENV_TEAM_PK}, then {HOST_CONFIG})",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=None,
        help="allow a plain http:// host URL that is not this machine (sends the token in clear)",
    )


# --- files ------------------------------------------------------------------------------------


def find_repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` or challenge_config.yaml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists() or (folder / DEFAULT_CONFIG).is_file():
            return folder
    return None


def _read_json(path: Path, label: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read {label}: {exc.strerror}; check its permissions") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=label, hint="save it as UTF-8") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"not valid JSON ({exc.msg})",
            path=label,
            line=exc.lineno,
            hint='fix the file, e.g. {"token": "...", "team_pk": "42"}',
        ) from exc


def _read_json_object(path: Path, label: str, *, hint: str) -> dict[str, Any]:
    data = _read_json(path, label)
    if not isinstance(data, dict):
        raise ConfigError("must be a JSON object", path=label, line=1, hint=hint)
    return data


def read_host_config(repo_root: Path | None) -> dict[str, str | None] | None:
    """The cleaned ``token``, ``team_pk`` and ``evalai_host_url`` of github/host_config.json,
    or None when there is no such file.  Placeholders come back as None."""
    if repo_root is None:
        return None
    path = repo_root / HOST_CONFIG
    if not path.is_file():
        return None
    data = _read_json_object(
        path,
        HOST_CONFIG,
        hint='e.g. {"token": "<evalai_user_auth_token>", "team_pk": "42", '
        '"evalai_host_url": "https://eval.ai"}',
    )
    return {key: clean(data.get(key)) for key in ("token", "team_pk", "evalai_host_url")}


def read_host_config_quietly(repo_root: Path | None) -> dict[str, str | None] | None:
    """As :func:`read_host_config`, but None for a file that cannot be read or parsed."""
    try:
        return read_host_config(repo_root)
    except (SettingsError, ConfigError):
        return None


def read_token_file(path: Path, label: str | None = None) -> str | None:
    """A token from a file: plain text, or JSON with a ``token`` key (evalai-cli's format)."""
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError as exc:
        raise SettingsError(f"token file {label} does not exist: check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read token file {label}: {exc}; check the file") from exc
    if text.startswith("{"):
        data = _read_json_object(path, label, hint='write {"token": "..."} or the bare token')
        token = clean(data.get("token"))
    else:
        token = clean(text)
    ui.register_secret(token)
    return token


def load_repo_settings(repo_root: Path | None) -> RepoSettings:
    """``.evalai-mirror.yml`` at ``repo_root`` (every key optional); defaults without it."""
    if repo_root is None:
        return RepoSettings()
    path = repo_root / SETTINGS_FILE
    if not path.is_file():
        return RepoSettings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=SETTINGS_FILE) from exc
    return parse_repo_settings(text, path=path)


def parse_repo_settings(text: str, *, path: Path | None = None) -> RepoSettings:
    """Check and read the text of ``.evalai-mirror.yml``; errors name the line and the fix.
    Read as every YAML file here is (:mod:`evalai_mirror.yamlload`: a hook reads a text parsed
    before without loading PyYAML)."""
    from evalai_mirror import yamlload

    label = SETTINGS_FILE
    syntax = "fix the syntax; every key is optional, an empty file is fine"
    try:
        loaded = yamlload.load(text)
    except yamlload.YamlSyntaxError as exc:
        raise ConfigError(f"not valid YAML: {exc.server_message.strip()}", path=label,
                          line=exc.line, hint=syntax) from None
    except ValueError as exc:  # e.g. an impossible date such as 2024-13-45
        raise ConfigError(f"has a value YAML cannot read ({exc})", path=label,
                          hint="fix that value, or quote it to make it text") from None
    root = loaded.data
    if root is None:
        return RepoSettings(path=path)
    if not isinstance(root, dict):
        raise ConfigError(
            "must be a mapping of settings",
            path=label,
            line=loaded.line(()),
            hint="write `key: value` lines, e.g. `branches: [challenge]`",
        )
    # the first problem in the file's order: a key nobody knows, or one set a second time
    problems: list[tuple[int, ConfigError]] = []
    for key in root:
        if key not in _KEYS:
            line = loaded.line((key,)) or 1
            problems.append((line, ConfigError(
                f"unknown setting {key!r}", path=label, line=line,
                hint="remove it; known settings: " + ", ".join(_KEYS),
            )))
    for where, line in loaded.repeated.items():
        if len(where) == 1:  # a setting's own value may repeat a key, as any YAML mapping
            problems.append((line, ConfigError(
                f"{where[0]!r} is set twice", path=label, line=line, hint="keep one")))
    if problems:
        raise min(problems, key=lambda found: found[0])[1]
    values = {key: _check(key, value, loaded.line((key,)) or 1) for key, value in root.items()}
    return RepoSettings(path=path, explicit=frozenset(values), **values)


_KEYS: dict[str, str] = {
    "repository": "write the GitHub repository as `repository: owner/name`",
    "branches": 'write a list of branch names or glob patterns, e.g. `branches: [challenge, "challenge-*"]`',
    "challenges": "map branch names to EvalAI challenge pks, e.g. `challenges: {challenge: 42}`",
    "poll_interval": "write a number of seconds, at least 1, e.g. `poll_interval: 30`",
    "config": "write the path of the challenge config, e.g. `config: challenge_config.yaml`",
}


def _check(key: str, value: Any, line: int) -> Any:
    def bad(what: str) -> ConfigError:
        return ConfigError(f"{key}: {what}", path=SETTINGS_FILE, line=line, hint=_KEYS[key])

    if key == "repository":
        if not isinstance(value, str) or not _REPOSITORY.match(value.strip()):
            raise bad(f"{value!r} is not owner/name")
        return value.strip()
    if key == "branches":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise bad("must be a non-empty list")
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise bad(f"{item!r} is not a branch name or pattern")
        return tuple(item.strip() for item in value)
    if key == "challenges":
        if not isinstance(value, dict):
            raise bad("must be a mapping of branch: pk")
        pins: dict[str, int] = {}
        for branch, pk in value.items():
            if isinstance(branch, bool) or not isinstance(branch, (str, int)) or not str(branch):
                raise bad(f"{branch!r} is not a branch name")
            if isinstance(pk, bool) or not isinstance(pk, int) or pk <= 0:
                raise bad(f"the pk of {branch!r} must be a positive integer, not {pk!r}")
            pins[str(branch)] = pk
        return pins
    if key == "poll_interval":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
            raise bad(f"{value!r} is not a number of seconds of at least 1")
        return float(value)
    if key == "config":
        from evalai_mirror.source import normalise

        path = normalise(value.strip()) if isinstance(value, str) else None
        if path is None:
            raise bad(f"{value!r} is not a path inside the repository")
        return path
    raise bad("unknown")  # pragma: no cover - _KEYS and this function list the same keys


# --- resolution -------------------------------------------------------------------------------


def _first(*candidates: tuple[object, str]) -> Setting:
    for value, source in candidates:
        text = clean(value)
        if text is not None:
            return Setting(text, source)
    return UNSET


class _Lazy:
    """Files read only when a value falls through to them, so that a broken file that every
    value overrides does not stop anything."""

    def __init__(self, repo_root: Path | None, home: Path) -> None:
        self.repo_root = repo_root
        self.home = home
        self._host_config: dict[str, str | None] | None = None
        self._host_config_read = False

    def host_config(self, key: str) -> str | None:
        if not self._host_config_read:
            self._host_config = read_host_config(self.repo_root)
            self._host_config_read = True
        return None if self._host_config is None else self._host_config.get(key)

    def cli_token(self) -> str | None:
        path = self.home / ".evalai" / "token.json"
        if not path.is_file():
            return None
        data = _read_json_object(
            path, EVALAI_CLI_TOKEN, hint="run `evalai set_token TOKEN` again or fix the file"
        )
        return clean(data.get("token"))

    def cli_host_url(self) -> str | None:
        path = self.home / ".evalai" / "host_url"
        try:
            return clean(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"cannot read {EVALAI_CLI_HOST_URL}: {exc}; fix or remove it"
            ) from exc


def resolve(
    args: argparse.Namespace | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Settings:
    """Every setting, each with where it came from.  Reads only what it needs."""
    env = os.environ if env is None else env
    cwd = Path(os.getcwd()) if cwd is None else Path(cwd)
    home = Path.home() if home is None else Path(home)
    repo_root = find_repo_root(cwd)
    files = _Lazy(repo_root, home)

    def arg(name: str) -> Any:
        return getattr(args, name, None) if args is not None else None

    # host URL
    host = _first(
        (arg("host_url"), "--host-url"),
        (env.get(ENV_HOST_URL), ENV_HOST_URL),
        (env.get(ENV_API_URL), ENV_API_URL),
    )
    if not host.is_set:
        host = _first((files.host_config("evalai_host_url"), HOST_CONFIG))
    if not host.is_set:
        host = _first((files.cli_host_url(), EVALAI_CLI_HOST_URL))
    if not host.is_set:
        host = Setting(DEFAULT_HOST_URL, "default")

    # token
    token_file: Path | None = None
    flag_token, flag_file = arg("token"), arg("token_file")
    if flag_token is not None and flag_file is not None:
        raise UsageError("give --token or --token-file, not both (prefer --token-file)")
    token = UNSET
    if flag_file is not None:
        token_file = (cwd / Path(flag_file).expanduser()).resolve()
        value = read_token_file(token_file, str(flag_file))
        if value is None:
            raise SettingsError(
                f"token file {flag_file} holds no token: put the token from your EvalAI "
                "profile page in it"
            )
        token = Setting(value, "--token-file")
    elif flag_token is not None:
        ui.register_secret(str(flag_token))
        ui.warn(
            "--token puts the token in your shell history and in `ps`: prefer "
            f"{ENV_TOKEN} or --token-file"
        )
        token = _first((flag_token, "--token"))
    if not token.is_set:
        token = _first((env.get(ENV_TOKEN), ENV_TOKEN))
    if not token.is_set:
        token = _first((files.host_config("token"), HOST_CONFIG))
        if token.is_set and repo_root is not None:
            token_file = repo_root / HOST_CONFIG
    if not token.is_set:
        token = _first((files.cli_token(), EVALAI_CLI_TOKEN))
        if token.is_set:
            token_file = home / ".evalai" / "token.json"
    ui.register_secret(token.value)

    # team
    team = _first((arg("team_pk"), "--team-pk"), (env.get(ENV_TEAM_PK), ENV_TEAM_PK))
    if not team.is_set:
        team = _first((files.host_config("team_pk"), HOST_CONFIG))

    insecure = arg("allow_insecure_http")
    if insecure is None:
        insecure = env.get(ENV_ALLOW_INSECURE, "").strip().lower() in _TRUE

    return Settings(
        host_url=host,
        token=token,
        team_pk=team,
        repo_root=repo_root,
        repo=load_repo_settings(repo_root),
        allow_insecure_http=bool(insecure),
        token_file=token_file,
    )
