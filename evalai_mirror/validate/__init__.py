"""EvalAI's server-side rules for ``challenge_config.yaml``, offline, with the server's messages.

The checks follow ``apps/challenges/challenge_config_utils.py`` of EvalAI (its answers to 189
broken configs are recorded in ``tests/data/corpus/``): the same order, the same byte-exact
texts (typos, leading spaces and missing periods included), the same cascades.  Where the real
server crashes (HTTP 500) a :class:`Problem` with ``crash=True`` says so and how to fix it.

Beyond the server, every problem names the file and line it comes from.  Files are read through
a :class:`~evalai_mirror.source.FileSource`, so the same code checks a working copy, a commit or
the contents of an uploaded zip.

The rules live in one module per part of the config: ``rules_challenge`` (title, logo, HTML
templates, evaluation script, dates, the challenge serializer), ``rules_splits`` (leaderboards,
dataset splits, phase splits), ``rules_phases``, ``rules_extras`` (tags, domain, prizes);
``drf``/``serializers`` are the Django REST framework checks they share, ``checker`` runs them in
order, and ``update`` holds the rules that need the configuration EvalAI already has.
"""

from __future__ import annotations

from evalai_mirror.source import FileSource, MappingSource, normalise
from evalai_mirror.validate.base import Problem
from evalai_mirror.validate.checker import check_config_text
from evalai_mirror.validate.drf import (
    DATETIME_PATTERN,
    FALSE_VALUES,
    TRUE_VALUES,
    WRONG_DATETIME_FORMAT,
    errors_repr,
    serializer_errors,
)
from evalai_mirror.validate.rules_extras import DOMAINS
from evalai_mirror.validate.update import check_update

__all__ = [
    "CONFIG_NAMES",
    "DATETIME_PATTERN",
    "DOMAINS",
    "FALSE_VALUES",
    "MULTIPLE_YAML",
    "NO_YAML",
    "OFFLINE_LIMITS",
    "TRUE_VALUES",
    "WRONG_DATETIME_FORMAT",
    "ZIP_UNEXTRACTABLE",
    "Problem",
    "check_config_text",
    "check_update",
    "errors_repr",
    "serializer_errors",
    "server_error_text",
    "summary",
    "validate_source",
    "validate_zip_bytes",
]

CONFIG_NAMES = ("challenge_config.yaml", "challenge_config.yml")

OFFLINE_LIMITS = [
    "For an existing challenge EvalAI refuses to delete a leaderboard, phase, dataset split or "
    "phase split; that needs the configuration EvalAI holds.",
    "For an existing challenge new leaderboard/dataset-split mappings are allowed only for new "
    "phases, and use_fifo_sqs cannot change.",
    "After an admin approves the challenge, leaderboard schemas, dataset split names and "
    "codenames, and phase split visibility and ordering are frozen.",
    "Team membership, the token and who owns the repository's challenge are checked only by "
    "the server (use --remote).",
]

ZIP_UNEXTRACTABLE = "The zip file contents cannot be extracted. Please check the format!"
NO_YAML = "There is no YAML file in the zip file you uploaded!"
MULTIPLE_YAML = "There are {} challenge config YAML files instead of 1 in the zip file!"


def validate_source(
    source: FileSource, config_path: str = "challenge_config.yaml"
) -> list[Problem]:
    """Check a challenge repository (working copy or commit) as EvalAI would check its zip.

    In this layout ``evaluation_script: evaluation_script.zip`` is satisfied by an
    ``evaluation_script/`` folder with files (the zip is built from it) or by the zip itself.
    """
    norm = normalise(config_path)
    if norm is None:
        return [Problem("Challenge configuration contains unsafe file paths.", config_path, None)]
    text = source.read(norm)
    if text is None:
        return [Problem(NO_YAML, norm, None, hint=f"create {norm}")]
    return check_config_text(source, norm, text, repo_layout=True)


def validate_zip_bytes(data: bytes) -> list[Problem]:
    """Exactly what EvalAI does with an uploaded challenge zip."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if not all(normalise(n.rstrip("/")) is not None for n in names if n.rstrip("/")):
                return [Problem(ZIP_UNEXTRACTABLE, "uploaded zip", None)]
            files = {n: archive.read(n) for n in names if not n.endswith("/")}
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ):
        return [Problem(ZIP_UNEXTRACTABLE, "uploaded zip", None)]
    configs = [n for n in names if n in CONFIG_NAMES]
    if not configs:
        return [Problem(NO_YAML, "uploaded zip", None)]
    if len(configs) > 1:
        return [Problem(MULTIPLE_YAML.format(len(configs)), "uploaded zip", None)]
    source = MappingSource(files)
    return check_config_text(source, configs[0], files[configs[0]], repo_layout=False)


def summary(problems: list[Problem]) -> str:
    """One line for a list of problems: the first, where it is, and how many more."""
    first = problems[0]
    where = f"{first.path}:{first.line}" if first.line else first.path
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.message.strip()}{more}"


def server_error_text(problems: list[Problem]) -> str:
    """The ``{"error": ...}`` text EvalAI answers for these problems."""
    return "\n".join(p.message for p in problems)
