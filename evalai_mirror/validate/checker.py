"""The whole check of one parsed config: every rule, in the server's order."""

from __future__ import annotations

from evalai_mirror import yamlload
from evalai_mirror.source import FileSource
from evalai_mirror.validate.base import Crash, Problem, crash_text
from evalai_mirror.validate.rules_challenge import ChallengeRules
from evalai_mirror.validate.rules_extras import ExtraRules
from evalai_mirror.validate.rules_phases import PhaseRules
from evalai_mirror.validate.rules_splits import SplitRules


class Checker(ChallengeRules, SplitRules, PhaseRules, ExtraRules):
    def run(self) -> None:
        data = self.loaded.data
        if not isinstance(data, dict):
            raise self.crash(
                f"the file does not contain a mapping of keys (it parsed to {type(data).__name__})",
                "Start from the EvalAI-Starters challenge_config.yaml.",
                (),
            )
        self.data = data
        self.title()
        self.logo()
        for key, missing in (
            ("description", "Please add the challenge description"),
            ("evaluation_details", "Please add the evaluation details"),
            ("terms_and_conditions", "Please add the terms and conditions."),
            ("submission_guidelines", "Please add the submission guidelines."),
        ):
            self.html_field(key, missing)
        self.evaluation_script()
        self.dates()
        if not self.problems:
            self.challenge_serializer()
        self.leaderboards()
        self.challenge_phases()
        self.dataset_splits()
        self.challenge_phase_splits()
        self.tags()
        self.domain()
        self.prizes()


def check_config_text(
    source: FileSource,
    config_path: str,
    text: bytes,
    *,
    repo_layout: bool,
) -> list[Problem]:
    """Parse ``text`` (the config at ``config_path`` in ``source``) and run every check."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return [
            Problem(
                crash_text(f"{config_path} is not UTF-8 text", "Save it as UTF-8."),
                config_path,
                None,
                crash=True,
            )
        ]
    try:
        loaded = yamlload.load(decoded)
    except yamlload.YamlSyntaxError as exc:
        limit = isinstance(exc, yamlload.YamlLimitError)
        return [
            Problem(
                exc.server_message,
                config_path,
                exc.line,
                hint=None if limit else "fix the YAML syntax at that line",
                ours=limit,
            )
        ]
    except ValueError as exc:  # e.g. a timestamp with month 13: the server crashes too
        return [
            Problem(
                crash_text(f"the YAML could not be read ({exc})", "Fix the date or value."),
                config_path,
                None,
                crash=True,
            )
        ]
    checker = Checker(source, config_path, loaded, repo_layout)
    try:
        checker.run()
    except Crash as crash:
        checker.problems.append(
            Problem(crash.message, config_path, loaded.line(crash.where), crash=True)
        )
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        where = checker.at
        checker.problems.append(
            Problem(
                crash_text(
                    f"a value of an unexpected type near {'.'.join(map(str, where)) or 'the top'}"
                    f" ({type(exc).__name__})",
                    "Check that value against the EvalAI-Starters template.",
                ),
                config_path,
                loaded.line(where),
                crash=True,
            )
        )
    return checker.problems
