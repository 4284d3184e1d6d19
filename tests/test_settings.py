"""Settings: precedence of each layer, placeholders, aliases, repository settings file, http."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from evalai_mirror import settings as s
from evalai_mirror import ui
from evalai_mirror.errors import ConfigError, InsecureURLError, SettingsError, UsageError

TOKEN_FILE = "tok-from-file-0123456789abcdef"
TOKEN_ENV = "tok-from-env-0123456789abcdef"
TOKEN_HOSTCFG = "tok-from-hostcfg-0123456789abcdef"
TOKEN_CLI = "tok-from-evalai-cli-0123456789abcdef"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    s.add_connection_arguments(parser)
    return parser.parse_args(list(argv))


def write_host_config(root: Path, **values: object) -> None:
    (root / "github").mkdir(parents=True, exist_ok=True)
    (root / "github" / "host_config.json").write_text(json.dumps(values))


@pytest.fixture
def layers(tmp_path: Path) -> dict[str, object]:
    """Every layer filled with a different value; each test removes layers top-down."""
    root = tmp_path / "repo"
    (root / "sub" / "dir").mkdir(parents=True)
    (root / ".git").mkdir()
    write_host_config(
        root, token=TOKEN_HOSTCFG, team_pk="30", evalai_host_url="https://hostcfg.example"
    )
    home = tmp_path / "userhome"
    (home / ".evalai").mkdir(parents=True)
    (home / ".evalai" / "token.json").write_text(json.dumps({"token": TOKEN_CLI}))
    (home / ".evalai" / "host_url").write_text("https://cli.example\n")
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN_FILE + "\n")
    env = {
        "EVALAI_HOST_URL": "https://env.example",
        "EVALAI_AUTH_TOKEN": TOKEN_ENV,
        "EVALAI_TEAM_PK": "20",
    }
    args = parse(
        "--host-url", "https://flag.example/", "--token-file", str(token_file), "--team-pk", "10"
    )
    return {"root": root, "home": home, "env": env, "args": args}


def _resolve(layers: dict[str, object], args: argparse.Namespace | None = None) -> s.Settings:
    root = layers["root"]
    assert isinstance(root, Path)
    return s.resolve(
        args,
        cwd=root / "sub" / "dir",
        env=layers["env"],  # type: ignore[arg-type]
        home=layers["home"],  # type: ignore[arg-type]
    )


def test_flags_beat_everything(layers: dict[str, object]) -> None:
    got = _resolve(layers, layers["args"])  # type: ignore[arg-type]
    assert got.host_url == s.Setting("https://flag.example/", "--host-url")
    assert got.token == s.Setting(TOKEN_FILE, "--token-file")
    assert got.team_pk == s.Setting("10", "--team-pk")
    assert got.token_file is not None and got.token_file.name == "token.txt"
    conn = got.connection()
    assert conn == s.Connection("https://flag.example", TOKEN_FILE, 10)


def test_environment_beats_files(layers: dict[str, object]) -> None:
    got = _resolve(layers)
    assert got.host_url == s.Setting("https://env.example", "EVALAI_HOST_URL")
    assert got.token == s.Setting(TOKEN_ENV, "EVALAI_AUTH_TOKEN")
    assert got.team_pk == s.Setting("20", "EVALAI_TEAM_PK")
    assert got.token_file is None


def test_evalai_api_url_is_an_alias_below_evalai_host_url(layers: dict[str, object]) -> None:
    env = layers["env"]
    assert isinstance(env, dict)
    env["EVALAI_API_URL"] = "https://api-alias.example"
    assert _resolve(layers).host_url.source == "EVALAI_HOST_URL"
    del env["EVALAI_HOST_URL"]
    assert _resolve(layers).host_url == s.Setting("https://api-alias.example", "EVALAI_API_URL")


def test_host_config_beats_evalai_cli_files(layers: dict[str, object]) -> None:
    layers["env"] = {}
    got = _resolve(layers)
    root = layers["root"]
    assert isinstance(root, Path)
    assert got.repo_root == root.resolve()
    assert got.host_url == s.Setting("https://hostcfg.example", "github/host_config.json")
    assert got.token == s.Setting(TOKEN_HOSTCFG, "github/host_config.json")
    assert got.team_pk == s.Setting("30", "github/host_config.json")
    assert got.token_file == root.resolve() / "github" / "host_config.json"


def test_evalai_cli_files_then_default(layers: dict[str, object]) -> None:
    layers["env"] = {}
    root = layers["root"]
    home = layers["home"]
    assert isinstance(root, Path) and isinstance(home, Path)
    (root / "github" / "host_config.json").unlink()
    got = _resolve(layers)
    assert got.host_url == s.Setting("https://cli.example", "~/.evalai/host_url")
    assert got.token == s.Setting(TOKEN_CLI, "~/.evalai/token.json")
    assert got.token_file == home / ".evalai" / "token.json"
    assert got.team_pk == s.UNSET
    (home / ".evalai" / "host_url").unlink()
    (home / ".evalai" / "token.json").unlink()
    got = _resolve(layers)
    assert got.host_url == s.Setting("https://eval.ai", "default")
    assert got.token == s.UNSET


def test_placeholders_and_empty_strings_count_as_unset(layers: dict[str, object]) -> None:
    root = layers["root"]
    assert isinstance(root, Path)
    write_host_config(
        root,
        token="<evalai_user_auth_token>",
        team_pk="<host_team_pk>",
        evalai_host_url="<evalai_host_url>",
    )
    layers["env"] = {"EVALAI_AUTH_TOKEN": "  ", "EVALAI_TEAM_PK": "", "EVALAI_HOST_URL": "<x>"}
    got = _resolve(layers)
    assert got.token.source == "~/.evalai/token.json"  # fell through to evalai-cli's file
    assert got.team_pk == s.UNSET
    assert got.host_url.source == "~/.evalai/host_url"


def test_team_pk_may_be_a_json_number(tmp_path: Path) -> None:
    (tmp_path / "challenge_config.yaml").write_text("title: x\n")
    write_host_config(tmp_path, token=TOKEN_HOSTCFG, team_pk=7, evalai_host_url="")
    got = s.resolve(None, cwd=tmp_path, env={}, home=tmp_path / "nohome")
    assert got.connection().team_pk == 7
    assert got.host_url.source == "default"


def test_missing_values_are_named_with_three_ways_to_set_them(tmp_path: Path) -> None:
    got = s.resolve(None, cwd=tmp_path, env={}, home=tmp_path)
    with pytest.raises(SettingsError) as info:
        got.connection()
    text = str(info.value)
    assert "EvalAI token" in text and "host team pk" in text
    for way in ("EVALAI_AUTH_TOKEN", "--token-file", "~/.evalai/token.json"):
        assert way in text
    for way in ("EVALAI_TEAM_PK", "--team-pk", "github/host_config.json"):
        assert way in text
    assert "\n" not in text

    only_team = s.resolve(None, cwd=tmp_path, env={"EVALAI_AUTH_TOKEN": TOKEN_ENV}, home=tmp_path)
    with pytest.raises(SettingsError) as info:
        only_team.connection()
    assert "host team pk" in str(info.value) and "EvalAI token" not in str(info.value)


@pytest.mark.parametrize("bad", ["abc", "1.5", "0", "-3"])
def test_team_pk_not_a_positive_integer(tmp_path: Path, bad: str) -> None:
    env = {"EVALAI_AUTH_TOKEN": TOKEN_ENV, "EVALAI_TEAM_PK": bad}
    with pytest.raises(SettingsError, match="EVALAI_TEAM_PK"):
        s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.5.6.7", "http://localhost:8000/", "http://[::1]:9000"],
)
def test_plain_http_allowed_on_loopback(tmp_path: Path, url: str) -> None:
    env = {"EVALAI_AUTH_TOKEN": TOKEN_ENV, "EVALAI_TEAM_PK": "1", "EVALAI_HOST_URL": url}
    conn = s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection()
    assert conn.host_url == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://eval.ai", "http://10.0.0.5:8000", "http://128.0.0.1"])
def test_plain_http_refused_off_loopback(tmp_path: Path, url: str) -> None:
    env = {"EVALAI_AUTH_TOKEN": TOKEN_ENV, "EVALAI_TEAM_PK": "1", "EVALAI_HOST_URL": url}
    with pytest.raises(InsecureURLError, match="--allow-insecure-http"):
        s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection()
    allowed = s.resolve(parse("--allow-insecure-http"), cwd=tmp_path, env=env, home=tmp_path)
    assert allowed.connection().host_url == url
    env["EVALAI_MIRROR_ALLOW_INSECURE_HTTP"] = "1"
    assert s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection().host_url == url


@pytest.mark.parametrize("url", ["ftp://eval.ai", "eval.ai", "https://", "https://eval.ai/?x=1"])
def test_host_url_must_be_http_or_https(tmp_path: Path, url: str) -> None:
    env = {"EVALAI_AUTH_TOKEN": TOKEN_ENV, "EVALAI_TEAM_PK": "1", "EVALAI_HOST_URL": url}
    with pytest.raises(SettingsError, match="EVALAI_HOST_URL"):
        s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection()


def test_token_is_registered_as_a_secret(tmp_path: Path) -> None:
    token = "registered-secret-token-987654321"
    s.resolve(None, cwd=tmp_path, env={"EVALAI_AUTH_TOKEN": token}, home=tmp_path)
    assert token not in ui.redact(f"Authorization: Bearer {token}")
    env = {"EVALAI_AUTH_TOKEN": token, "EVALAI_TEAM_PK": "3"}
    settings = s.resolve(None, cwd=tmp_path, env=env, home=tmp_path)
    assert settings.token.value == token
    assert token not in repr(settings)
    assert token not in repr(settings.connection())


def test_token_file_formats_and_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text(f"  {TOKEN_FILE}\n")
    as_json = tmp_path / "token.json"
    as_json.write_text(json.dumps({"token": TOKEN_CLI}))
    assert (
        s.resolve(
            parse("--token-file", str(plain)), cwd=tmp_path, env={}, home=tmp_path
        ).token.value
        == TOKEN_FILE
    )
    assert (
        s.resolve(
            parse("--token-file", str(as_json)), cwd=tmp_path, env={}, home=tmp_path
        ).token.value
        == TOKEN_CLI
    )
    with pytest.raises(SettingsError, match="does not exist"):
        s.resolve(
            parse("--token-file", str(tmp_path / "nope")), cwd=tmp_path, env={}, home=tmp_path
        )
    empty = tmp_path / "empty"
    empty.write_text("<evalai_user_auth_token>\n")
    with pytest.raises(SettingsError, match="holds no token"):
        s.resolve(parse("--token-file", str(empty)), cwd=tmp_path, env={}, home=tmp_path)
    with pytest.raises(UsageError):
        s.resolve(
            parse("--token-file", str(plain), "--token", TOKEN_ENV),
            cwd=tmp_path,
            env={},
            home=tmp_path,
        )


def test_token_flag_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = s.resolve(
        parse("--token", "flag-token-abcdefghijkl"), cwd=tmp_path, env={}, home=tmp_path
    )
    assert got.token == s.Setting("flag-token-abcdefghijkl", "--token")
    err = capsys.readouterr().err
    assert "shell history" in err and "flag-token-abcdefghijkl" not in err


def test_broken_host_config_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "host_config.json").write_text('{\n  "token": "abc",\n  team_pk: 1\n}\n')
    with pytest.raises(ConfigError) as info:
        s.resolve(None, cwd=tmp_path, env={}, home=tmp_path)
    assert str(info.value).startswith("github/host_config.json:3: not valid JSON")
    # a broken file that every value overrides stops nothing
    env = {
        "EVALAI_HOST_URL": "https://e.example",
        "EVALAI_AUTH_TOKEN": TOKEN_ENV,
        "EVALAI_TEAM_PK": "4",
    }
    assert s.resolve(None, cwd=tmp_path, env=env, home=tmp_path).connection().team_pk == 4


def test_broken_evalai_cli_token_file(tmp_path: Path) -> None:
    (tmp_path / ".evalai").mkdir()
    (tmp_path / ".evalai" / "token.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"~/.evalai/token.json:1: must be a JSON object"):
        s.resolve(None, cwd=tmp_path, env={}, home=tmp_path)


@pytest.mark.parametrize("where", ["github/host_config.json", "~/.evalai/token.json"])
def test_settings_file_that_is_not_utf8_is_named_not_a_crash(
    tmp_path: Path, run_cli: Any, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"  # home: conftest's isolated HOME
    (repo / ".git").mkdir(parents=True)
    target = repo / "github" / "host_config.json" if where.startswith("github") else (
        home / ".evalai" / "token.json"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b'{"token": "caf\xe9"}')  # Latin-1, as some editors save it
    assert run_cli(["config"], cwd=repo) == 1
    err = capsys.readouterr().err
    assert "crashed" not in err
    assert err.startswith(f"error: {where}: not UTF-8 text")


def test_repo_root_found_without_git(tmp_path: Path) -> None:
    (tmp_path / "outer" / ".git").mkdir(parents=True)
    inner = tmp_path / "outer" / "challenge"
    (inner / "templates").mkdir(parents=True)
    (inner / "challenge_config.yaml").write_text("title: x\n")
    assert s.find_repo_root(inner / "templates") == inner.resolve()
    assert s.find_repo_root(tmp_path / "outer") == (tmp_path / "outer").resolve()
    assert s.find_repo_root(tmp_path) is None


# --- .evalai-mirror.yml -----------------------------------------------------------------------


def test_repo_settings_defaults() -> None:
    repo = s.RepoSettings()
    assert repo.branch_syncs("challenge") and repo.branch_syncs("challenge-2025")
    assert not repo.branch_syncs("main") and not repo.branch_syncs("Challenge")
    assert not repo.branch_syncs("my-challenge")
    assert repo.poll_interval == 6.5 and repo.config == "challenge_config.yaml"


def test_repo_settings_file_read(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".evalai-mirror.yml").write_text(
        "# committed; no secrets here\n"
        "repository: host-org/other-name\n"
        "branches: [main, 'release/*']\n"
        "challenges: {main: 42, hotfix: 7}\n"
        "poll_interval: 12.5\n"
        "config: ./sub/../challenge_config.yaml\n"
    )
    got = s.resolve(None, cwd=tmp_path, env={}, home=tmp_path).repo
    assert got.repository == "host-org/other-name"
    assert got.branches == ("main", "release/*")
    assert dict(got.challenges) == {"main": 42, "hotfix": 7}
    assert got.challenge_pk("main") == 42 and got.challenge_pk("challenge") is None
    assert got.branch_syncs("release/1.0") and got.branch_syncs("hotfix")
    assert not got.branch_syncs("challenge")
    assert got.poll_interval == 12.5
    assert got.config == "challenge_config.yaml"
    assert got.explicit == {"repository", "branches", "challenges", "poll_interval", "config"}


def test_empty_repo_settings_file_means_defaults() -> None:
    got = s.parse_repo_settings("# nothing yet\n")
    assert got.branches == s.DEFAULT_BRANCHES and got.explicit == frozenset()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("branches: [challenge]\nbranchs: [x]\n", 2, "unknown setting 'branchs'"),
        ("poll_interval: soon\n", 1, "poll_interval"),
        ("poll_interval: 0\n", 1, "at least 1"),
        ("\n\nbranches: 5\n", 3, "non-empty list"),
        ("branches: []\n", 1, "non-empty list"),
        ("challenges: {challenge: abc}\n", 1, "positive integer"),
        ("challenges: [1, 2]\n", 1, "mapping"),
        ("repository: just-a-name\n", 1, "owner/name"),
        ("config: ../outside.yaml\n", 1, "inside the repository"),
        ("poll_interval: 5\npoll_interval: 6\n", 2, "set twice"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("branches: [a\npoll_interval: 3\n", 2, "not valid YAML"),
    ],
)
def test_repo_settings_errors_name_file_line_and_fix(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        s.parse_repo_settings(text)
    message = str(info.value)
    assert message.startswith(f".evalai-mirror.yml:{line}: "), message
    assert fragment in message
    assert info.value.hint, "every error says how to fix it"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.255.1.2", "128.0.0.1", "::1", "[::1]", "::2", "0:0:0:0:0:0:0:1",
     "localhost", "LOCALHOST.", "a.localhost", "eval.ai", "127.0.0.01", "127.1",
     "::ffff:127.0.0.1", "", "10.0.0.1", "1.2.3.4.5", "fe80::1%eth0", "x\x00y"],
)
def test_loopback_is_what_ipaddress_says(host: str) -> None:
    import ipaddress

    name = host.strip("[]").rstrip(".").lower()
    try:
        expected = ipaddress.ip_address(name).is_loopback
    except ValueError:
        expected = name == "localhost" or name.endswith(".localhost")
    assert s.is_loopback(host) is expected
