"""Rules for ``challenge_phases``: codenames, test annotation files, descriptions, dates,
submission meta attributes and the phase serializer."""

from __future__ import annotations

from typing import Any

from evalai_mirror.validate.base import CheckerBase, hashable_or_crash, iterate
from evalai_mirror.validate.drf import errors_repr, serializer_errors
from evalai_mirror.validate.serializers import PHASE_FIELDS


class PhaseRules(CheckerBase):
    def challenge_phases(self) -> None:
        self.at = ("challenge_phases",)
        phases = self.data.get("challenge_phases")
        if not phases:
            self.add(
                "ERROR: No challenge phase key found. Please add challenge phases in the YAML "
                "file and try again!"
            )
            return
        codenames: list[Any] = []
        for index, phase in enumerate(iterate(self, phases)):
            here = ("challenge_phases", index)
            self.at = here
            if not isinstance(phase, dict):
                raise self.crash(
                    f"challenge phase {index + 1} is not a mapping", "Fix its indentation."
                )
            need_name = f"challenge phase {index + 1} has no `name`, which the server needs for this message"
            if "codename" not in phase:
                self.add(
                    "ERROR: No codename found for the challenge phase. "
                    "Please add a codename and try again!"
                )
            else:
                codename = phase["codename"]
                hashable_or_crash(self, codename, "codename")
                if codename not in codenames:
                    codenames.append(codename)
                else:
                    if "name" not in phase:
                        raise self.crash(need_name, "Add `name:` to the phase.")
                    self.add(
                        f"ERROR: Duplicate codename {codename} for phase {phase['name']}. "
                        "Please ensure codenames are unique",
                        (*here, "codename"),
                    )
            annotation = phase.get("test_annotation_file")
            if annotation:
                if not isinstance(annotation, str):
                    raise self.crash(
                        f"test_annotation_file of phase {index + 1} is a {type(annotation).__name__}",
                        "Give a file path.",
                        (*here, "test_annotation_file"),
                    )
                if not self.is_file(annotation):
                    if "name" not in phase:
                        raise self.crash(need_name, "Add `name:` to the phase.")
                    self.add(
                        "ERROR: No test annotation file found in the zip file for challenge "
                        f"phase {phase['name']}",
                        (*here, "test_annotation_file"),
                        hint=f"{annotation} does not exist",
                    )
            if phase.get("max_submissions_per_month", None) is None:
                phase["max_submissions_per_month"] = phase.get("max_submissions", None)
            if phase.get("description"):
                phase["description"] = self.read_html(phase["description"])
            else:
                if "name" not in phase:
                    raise self.crash(need_name, "Add `name:` and `description:` to the phase.")
                self.add(f" ERROR: There is no key for description in phase {phase['name']}.")
            if phase.get("is_submission_public") and phase.get(
                "is_restricted_to_select_one_submission"
            ):
                if "name" not in phase:
                    raise self.crash(need_name, "Add `name:` to the phase.")
                self.add(
                    "ERROR: is_submission_public can't be 'True' for challenge phase "
                    f"'{phase['name']}' with is_restricted_to_select_one_submission 'True'. "
                    "Please change is_submission_public to 'False' and try again!",
                    (*here, "is_submission_public"),
                )
            self.phase_dates(phase, here)
            self.meta_attributes(phase, here)
            if "id" not in phase:
                raise self.crash(
                    f"challenge phase {index + 1} has no `id`", "Add `id: <number>` to the phase."
                )
            errors = serializer_errors(PHASE_FIELDS, phase)
            if errors:
                self.add(
                    f"ERROR: Challenge phase {phase['id']} has the following schema errors:\n "
                    f"{errors_repr(errors)}",
                    (*here, next(iter(errors))),
                )
            else:
                self.phase_ids.append(phase["id"])

    def phase_dates(self, phase: dict[Any, Any], here: tuple[Any, ...]) -> None:
        start = phase.get("start_date")
        end = phase.get("end_date")
        ident = phase.get("id")
        if not start or not end:
            self.add(
                f"ERROR: Please add the start_date and end_date in challenge phase {ident}.",
                (*here, "start_date" if not start else "end_date"),
            )
        if start and end:
            try:
                later = start > end
            except TypeError as exc:
                raise self.crash(
                    f"the dates of challenge phase {ident} cannot be compared "
                    f"({type(start).__name__} and {type(end).__name__})",
                    "Write both as unquoted `YYYY-MM-DD HH:MM:SS`.",
                    (*here, "start_date"),
                ) from exc
            if later:
                self.add(
                    f"ERROR: Start date cannot be greater than end date in challenge phase {ident}.",
                    (*here, "start_date"),
                )

    def meta_attributes(self, phase: dict[Any, Any], here: tuple[Any, ...]) -> None:
        attributes = phase.get("submission_meta_attributes")
        if not attributes:
            return
        ident = phase.get("id")
        for index, attribute in enumerate(iterate(self, attributes)):
            where = (*here, "submission_meta_attributes", index)
            self.at = where
            if not isinstance(attribute, dict):
                raise self.crash(
                    f"submission meta attribute {index + 1} of phase {ident} is not a mapping",
                    "Give it name, description and type.",
                )
            if "id" not in phase:
                raise self.crash("a phase has no `id`", "Add `id: <number>` to the phase.", here)
            missing = [k for k in ("name", "description", "type") if k not in attribute]
            if missing:
                self.add(
                    "ERROR: Please enter the following fields for the submission meta attribute "
                    f"in challenge phase {phase['id']}: {', '.join(missing)}"
                )
                continue
            kind = attribute["type"]
            hashable_or_crash(self, kind, "type")
            if kind not in ("boolean", "text", "radio", "checkbox"):
                self.add(
                    "ERROR: Please ensure that the submission meta attribute types for the "
                    f"attribute '{kind}' in challenge phase {phase['id']} are among the "
                    "following: boolean, text, radio, or checkbox.",
                    (*where, "type"),
                )
            elif kind in ("radio", "checkbox"):
                options = attribute.get("options")
                if not options or not len(options):
                    self.add(
                        "ERROR: Please include at least one option in the attribute for "
                        f"challenge phase {phase['id']}"
                    )
