"""The broken-config corpus (tests/data/corpus): ``validate`` against what EvalAI answered.

``[recorded]`` compares with the answers the real backend gave when the corpus was recorded
(``server.json``); ``[real]`` asks the backend named by ``EVALAI_CONTRACT_*`` again (skipped
when they are unset).  Either way: the same verdict (valid, refused with messages, or a server
error), and every line of the server's message in ``validate``'s output.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import requests

from contract.corpus import cases, server_answers, server_lines, tree
from evalai_mirror.validate import server_error_text, validate_source
from evalai_mirror.zipbuild import build_challenge_zip

_REAL = {k: os.environ.get(f"EVALAI_CONTRACT_{k}", "") for k in ("HOST_URL", "AUTH_TOKEN", "TEAM_PK")}
CASES = {case["id"]: case for case in cases()}
RECORDED = server_answers()


def verdict(status: int) -> str:
    return {200: "valid", 400: "refused"}.get(status, "server error")


def check(case_id: str, answer: dict[str, Any]) -> None:
    case = CASES[case_id]
    problems = validate_source(tree(case))
    ours = "valid" if not problems else "server error" if any(p.crash for p in problems) else "refused"
    messages = "\n".join(p.message for p in problems)
    assert ours == verdict(int(answer["status"])), messages or "no problems"
    for line in server_lines(answer):
        assert line in messages, f"the server said {line!r}; validate said {messages!r}"
    if ours == "refused":  # all of it, in the server's order, and nothing more
        assert server_error_text(problems) == answer["error"]
    for problem in problems:
        assert problem.path == "challenge_config.yaml"
        assert not problem.crash or "HTTP 500" in problem.message
    if "lines" in case:
        assert [p.line for p in problems] == case["lines"], messages


def test_corpus_is_large_and_recorded() -> None:
    assert len(CASES) >= 100 and len(CASES) == len(cases()), "the ids must be unique"
    assert set(RECORDED) == set(CASES), "re-record: tests/contract/record.py --corpus"


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_recorded(case_id: str) -> None:
    check(case_id, RECORDED[case_id])


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_real(case_id: str) -> None:
    if not all(_REAL.values()):
        pytest.skip("no real EvalAI backend: set EVALAI_CONTRACT_HOST_URL, EVALAI_CONTRACT_AUTH_TOKEN and EVALAI_CONTRACT_TEAM_PK")
    url = _REAL["HOST_URL"].rstrip("/")
    response = requests.post(
        f"{url}/api/challenges/challenge/challenge_host_team/{int(_REAL['TEAM_PK'])}/validate_challenge_config/",
        headers={"Authorization": f"Bearer {_REAL['AUTH_TOKEN']}"},
        files={"zip_configuration": ("challenge_config.zip", build_challenge_zip(tree(CASES[case_id])), "application/zip")},
        data={"GITHUB_REPOSITORY": f"contract-corpus/{uuid.uuid4().hex[:12]}"},
        timeout=120,
    )
    answer: dict[str, Any] = {"status": response.status_code}
    if response.status_code == 400:
        answer["error"] = response.json().get("error")
    check(case_id, answer)
