"""Rules for the challenge's own keys: title, logo, HTML templates, evaluation script, dates,
and the challenge serializer (every challenge field, the logo included)."""

from __future__ import annotations

from evalai_mirror.validate.base import CheckerBase
from evalai_mirror.validate.drf import Err, errors_repr, serializer_errors
from evalai_mirror.validate.serializers import (
    CHALLENGE_FIELDS,
    IMAGE_EXTENSIONS,
    INVALID_IMAGE,
    NOT_A_FILE,
    SERIALIZER_ORDER,
    decodes_as_image,
)


class ChallengeRules(CheckerBase):
    def title(self) -> None:
        self.at = ("title",)
        title = self.data.get("title")
        if title and not hasattr(title, "__len__"):
            raise self.crash(
                f"title is a {type(title).__name__}, which has no length", "Quote the title."
            )
        if not title:
            self.add("Please add the challenge title", hint="add `title: <name>`")

    def logo(self) -> None:
        self.at = ("image",)
        image = self.data.get("image")
        if image and not isinstance(image, str):
            raise self.crash(f"image is a {type(image).__name__}", "Give a file path.")

    def html_field(self, key: str, missing: str) -> None:
        self.at = (key,)
        value = self.data.get(key)
        if value and not hasattr(value, "__len__"):
            raise self.crash(f"{key} is a {type(value).__name__}", "Give an HTML file path.")
        if not value:
            self.add(missing, hint=f"add `{key}: templates/{key}.html`")
            return
        if not isinstance(value, str):
            raise self.crash(f"{key} is a {type(value).__name__}", "Give an HTML file path.")
        if self.resolve(value) is None:
            self.add(f"Invalid file path for {key}.", hint="use a path inside the repository")
        elif not self.is_file(value):
            self.add(
                f"File at path {key} not found. Please specify a valid file path",
                hint=f"{value} does not exist",
            )
        elif not value.endswith(".html"):
            self.add(f"File {key} is not a HTML file. Please specify a valid HTML file")
        else:
            self.data[key] = self.read_html(value)

    def evaluation_script(self) -> None:
        self.at = ("evaluation_script",)
        script = self.data.get("evaluation_script")
        if not script:
            self.add(
                "ERROR: There is no key for the evaluation script in the YAML file. "
                "Please add it and then try again!",
                hint="add `evaluation_script: evaluation_script.zip`",
            )
            return
        if not isinstance(script, str):
            raise self.crash(
                f"evaluation_script is a {type(script).__name__}",
                "Use `evaluation_script: evaluation_script.zip`.",
            )
        if not script.endswith(".zip"):
            self.add(
                "ERROR: Please pass in a zip file as evaluation script. If using the "
                "`evaluation_script` directory (recommended), it should be "
                "`evaluation_script.zip`."
            )
            return
        if self.is_file(script):
            return
        if self.repo_layout:
            folder = self.resolve(script[: -len(".zip")])
            if folder is not None and self.source.list_files(folder):
                return  # the tool builds the zip from this folder
        self.add(
            "ERROR: No evaluation script is present in the zip file. "
            "Please add it and then try again!",
            hint=f"add files to {script[: -len('.zip')]}/",
        )

    def dates(self) -> None:
        self.at = ("start_date",)
        start = self.data.get("start_date")
        end = self.data.get("end_date")
        if not start or not end:
            self.add(
                "ERROR: Please add the start_date and end_date.",
                ("start_date",) if not start else ("end_date",),
            )
        if start and end:
            try:
                later = start > end
            except TypeError as exc:
                raise self.crash(
                    f"start_date ({type(start).__name__}) and end_date ({type(end).__name__}) "
                    "cannot be compared",
                    "Write both as unquoted `YYYY-MM-DD HH:MM:SS`.",
                ) from exc
            if later:
                self.add("ERROR: Start date cannot be greater than end date.")

    def challenge_serializer(self) -> None:
        errors = serializer_errors(CHALLENGE_FIELDS, self.data)
        image = self.image_errors()
        if image:
            merged = {**errors, "image": image}
            errors = {key: merged[key] for key in SERIALIZER_ORDER if key in merged}
        if errors:
            first = next(iter(errors))
            self.add(
                "ERROR: Unable to serialize the challenge because of the following errors: "
                f"{errors_repr(errors)}.",
                (first,),
            )

    def image_errors(self) -> list[Err]:
        """The serializer's ImageField.  EvalAI hands it the file only for a ``.jpg``,
        ``.jpeg`` or ``.png`` path inside the zip that exists, and the YAML's text otherwise;
        Django then decodes the file with Pillow."""
        image = self.data.get("image")
        if image is None:  # left out, or null: no logo
            return []
        ok = isinstance(image, str) and image.endswith(IMAGE_EXTENSIONS)
        path = self.resolve(image) if ok else None  # "" and false are "not a file" too
        data = None if path is None else self.source.read(path)
        if data is None:
            return [(NOT_A_FILE, "invalid")]
        if not data:
            return [("The submitted file is empty.", "empty")]
        if not decodes_as_image(data):
            return [(INVALID_IMAGE, "invalid_image")]
        return []
