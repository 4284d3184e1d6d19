"""The README, the hook manifest and the CLI stay in step (as pre-commit-hooks keeps its own)."""

from __future__ import annotations

import re
import shlex

import yaml
from conftest import PROJECT_ROOT

from evalai_mirror.cli import COMMANDS, build_parser

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MANIFEST = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def test_every_command_is_in_the_readme_table() -> None:
    for name in COMMANDS:
        assert f"`evalai-mirror {name}" in README, name


def test_every_hook_id_is_documented_and_runs_a_real_command() -> None:
    ids = [hook["id"] for hook in MANIFEST]
    assert ids == ["evalai-validate", "evalai-push", "evalai-push-on-commit"]
    for hook in MANIFEST:
        assert f"id: {hook['id']}" in README, hook["id"]
        argv = shlex.split(hook["entry"])
        assert argv[0] == "evalai-mirror" and argv[1] in COMMANDS
        build_parser(argv[1:]).parse_args(argv[1:])  # the entry's options exist


def test_hook_stages_match_what_the_readme_says() -> None:
    stages = {hook["id"]: hook["stages"] for hook in MANIFEST}
    assert stages["evalai-push"] == ["pre-push"]
    assert stages["evalai-push-on-commit"] == ["post-commit"]
    assert "pre-commit" in stages["evalai-validate"]
    assert "default_install_hook_types: [pre-commit, pre-push]" in README


def test_the_readme_names_the_two_fresh_machine_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert any(b.strip().endswith("evalai-mirror demo") for b in blocks)
    assert any(b.strip().endswith("python -m pytest") for b in blocks)
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci and "evalai-mirror demo" in ci


def test_readme_settings_keys_are_the_ones_the_settings_file_takes() -> None:
    from evalai_mirror.settings import parse_repo_settings

    block = re.search(r"```yaml\n(repository:.*?)\n```", README, flags=re.S)
    assert block is not None
    parsed = parse_repo_settings(block.group(1))
    assert parsed.repository == "my-org/my-challenge"
    assert parsed.challenge_pk("challenge") == 42


def test_the_readme_installs_from_what_exists_and_names_the_project_url_once_in_code() -> None:
    """Until evalai-mirror is on PyPI, the README installs it from its git repository; the URL
    there is the one evalai_mirror.PROJECT_URL holds (the only place the code says it)."""
    from evalai_mirror import PIP_SPEC, PROJECT_URL

    assert f'pip install "{PIP_SPEC}"' in README
    assert f"git clone {PROJECT_URL} " in README
    assert not re.search(r"pip install evalai-mirror\b", README)
    urls = set(re.findall(r"https://github\.com/evalai-mirror/[\w.-]+", README))
    assert urls == {PROJECT_URL}
    code = [p for p in (PROJECT_ROOT / "evalai_mirror").rglob("*.py")
            if PROJECT_URL in p.read_text(encoding="utf-8")]
    assert [p.relative_to(PROJECT_ROOT).as_posix() for p in code] == ["evalai_mirror/__init__.py"]


def test_the_readme_pre_commit_config_is_the_one_init_writes() -> None:
    from evalai_mirror import hooks, scaffold

    block = re.search(r"```yaml\n(default_install_hook_types:.*?)\n```", README, flags=re.S)
    assert block is not None
    written = scaffold.render(scaffold.Options())[hooks.PRE_COMMIT_CONFIG]
    assert yaml.safe_load(block.group(1)) == yaml.safe_load(written)
