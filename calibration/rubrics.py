"""Rubric definition files: load, validate, normalise and hash.

A rubric file is YAML in the format described in ``rubrics/README.md`` and ``rubrics/schema.json``.
Loading is strict and all-or-nothing: a file becomes a :class:`RubricDefinition` or raises
:class:`RubricFileError` naming the file, the field and the problem in words a lead trainer can act on.

The checks run in this order, and the first problem found is reported:

1. bytes: at most :data:`MAX_FILE_BYTES`, UTF-8;
2. YAML: syntax, one document, no duplicate keys, no aliases, merge keys or custom tags;
3. text: no NUL or other control characters anywhere (tab and line break are fine);
4. shape: ``rubrics/schema.json`` (JSON Schema 2020-12): required and unknown fields, types, lengths, forms;
5. meaning: levels strictly increasing with unique labels, earn cut is a level, exactly one descriptor per
   level for every criterion, criterion keys unique.

The definition is normalised (text NFC-normalised and stripped, titles and labels on one line, descriptors
ordered like the levels). Its canonical JSON (:meth:`RubricDefinition.to_canonical_json`) is what is hashed
and stored, so reformatting a file, reordering its keys or editing its comments never changes the
``content_hash``, while any change of content does (after edx-ora2's content-hashed ``Rubric``).

The loader is pure: this module and its two parts, :mod:`calibration.rubric_yaml` (strict YAML
reading) and :mod:`calibration.rubric_problems` (the error types and their wording), import only the
standard library, PyYAML, jsonschema and each other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators

from calibration.rubric_problems import (
    FILE_FIELD,
    FieldPath,
    RubricDirError,
    RubricFileError,
    _char_name,
    _describe,
    _expected,
    _format_field,
    _line_of,
    _one_line,
)
from calibration.rubric_yaml import (
    _read_yaml,
)

__all__ = [
    "FILE_FIELD",
    "MAX_FILE_BYTES",
    "SCHEMA_PATH",
    "Criterion",
    "Level",
    "RubricDefinition",
    "RubricDirError",
    "RubricFileError",
    "load_rubric_dir",
    "load_rubric_file",
    "parse_rubric",
    "parse_rubric_bytes",
    "rubric_from_canonical",
]

MAX_FILE_BYTES = 256 * 1024
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "rubrics" / "schema.json"
RUBRIC_SUFFIXES = (".yaml", ".yml")
SNAPSHOT_SOURCE = "(stored rubric)"
DEFAULT_LEVEL_OF_MEASUREMENT = "ordinal"

# Cc except tab and line feed, plus lone surrogates (not encodable, so not storable).
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


# --------------------------------------------------------------------------------------------------
# Definitions


@dataclasses.dataclass(frozen=True)
class Level:
    """One step of the rubric's scale."""

    value: int
    label: str


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One criterion; ``descriptors[i]`` describes ``levels[i]`` of its rubric."""

    key: str
    title: str
    description: str
    descriptors: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RubricDefinition:
    """A validated, normalised rubric. Build it with :func:`parse_rubric` and friends.

    ``content_hash`` is the SHA-256 (hex) of :meth:`to_canonical_json`; it is computed when not given and
    checked when given. ``source`` (the file name) is not part of the content and not compared.
    """

    slug: str
    title: str
    description: str
    level_of_measurement: str
    earn_cut: int
    levels: tuple[Level, ...]
    criteria: tuple[Criterion, ...]
    content_hash: str = ""
    source: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.to_canonical_json().encode("ascii")).hexdigest()
        if not self.content_hash:
            object.__setattr__(self, "content_hash", digest)
        elif self.content_hash != digest:
            raise ValueError(f"content_hash {self.content_hash!r} does not match the definition ({digest})")

    @property
    def level_values(self) -> tuple[int, ...]:
        return tuple(level.value for level in self.levels)

    @property
    def criterion_keys(self) -> tuple[str, ...]:
        return tuple(criterion.key for criterion in self.criteria)

    def label_for(self, value: int) -> str:
        """The label of the level with ``value``; ``KeyError`` if there is none."""
        for level in self.levels:
            if level.value == value:
                return level.label
        raise KeyError(value)

    def to_canonical_dict(self) -> dict[str, Any]:
        """The normalised definition as plain JSON data: what is hashed and stored as the snapshot."""
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "level_of_measurement": self.level_of_measurement,
            "earn_cut": self.earn_cut,
            "levels": [{"value": level.value, "label": level.label} for level in self.levels],
            "criteria": [
                {
                    "key": c.key,
                    "title": c.title,
                    "description": c.description,
                    "descriptors": list(c.descriptors),
                }
                for c in self.criteria
            ],
        }

    def to_canonical_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, ASCII only (non-ASCII as ``\\u`` escapes)."""
        return json.dumps(self.to_canonical_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --------------------------------------------------------------------------------------------------
# Public loaders


def parse_rubric(text: str, *, source: str) -> RubricDefinition:
    """Validate the YAML ``text`` of a rubric file and return its definition.

    ``source`` names the file in messages and becomes ``RubricDefinition.source``.
    """
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise RubricFileError(
            source, FILE_FIELD, f"is not valid Unicode text (character {exc.start + 1} cannot be encoded)"
        ) from None
    if size > MAX_FILE_BYTES:
        raise RubricFileError(source, FILE_FIELD, _too_large(size))
    data, lines = _read_yaml(text, source)
    return _definition_from_data(data, source=source, lines=lines)


def load_rubric_file(path: Path | str) -> RubricDefinition:
    """Read and validate one rubric file; ``source`` is the file's name."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RubricFileError(name, FILE_FIELD, _too_large(size))
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RubricFileError(name, FILE_FIELD, f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:  # it grew while we looked
        raise RubricFileError(name, FILE_FIELD, _too_large(len(raw)))
    return parse_rubric_bytes(raw, size=len(raw), source=name)


def parse_rubric_bytes(raw: bytes, *, size: int, source: str) -> RubricDefinition:
    """Validate a rubric file's bytes (from disk or an upload) exactly as :func:`load_rubric_file` does.

    ``raw`` holds at least the first ``MAX_FILE_BYTES + 1`` bytes and ``size`` the full size, so a
    caller can stop reading an oversized upload early and still get the size in the message.
    """
    if size > MAX_FILE_BYTES:
        raise RubricFileError(source, FILE_FIELD, _too_large(size))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RubricFileError(
            source,
            FILE_FIELD,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02X} at line {line}, column {column}); "
            "save the file with UTF-8 encoding",
        ) from None
    return parse_rubric(text, source=source)


def load_rubric_dir(path: Path | str) -> list[RubricDefinition]:
    """Load every ``*.yaml``/``*.yml`` file of a directory (not its subdirectories), sorted by file name.

    All or nothing: every file is validated before anything is returned. One bad file raises its
    :class:`RubricFileError`; several raise a :class:`RubricDirError` listing them all. Two files with
    the same slug are an error too.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise RubricFileError(str(directory), FILE_FIELD, "is not a directory of rubric files")
    files = sorted(
        (
            p
            for p in directory.iterdir()
            if p.suffix.lower() in RUBRIC_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )
    definitions: list[RubricDefinition] = []
    errors: list[RubricFileError] = []
    for file in files:
        try:
            definitions.append(load_rubric_file(file))
        except RubricFileError as exc:
            errors.append(exc)
    first_file_for_slug: dict[str, str | None] = {}
    for definition in definitions:
        if definition.slug in first_file_for_slug:
            errors.append(
                RubricFileError(
                    definition.source or "?",
                    "slug",
                    f'"{definition.slug}" is already the slug of {first_file_for_slug[definition.slug]}',
                )
            )
        else:
            first_file_for_slug[definition.slug] = definition.source
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise RubricDirError(errors)
    return definitions


def rubric_from_canonical(d: dict[str, Any]) -> RubricDefinition:
    """Rebuild a definition from its stored snapshot (:meth:`RubricDefinition.to_canonical_dict`).

    The snapshot goes through the same checks as a file; ``source`` is ``None``.
    """
    try:
        data = json.loads(json.dumps(d, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RubricFileError(SNAPSHOT_SOURCE, FILE_FIELD, f"is not JSON data ({exc})") from None
    if isinstance(data, dict):
        _descriptor_lists_to_mappings(data)
    return dataclasses.replace(_definition_from_data(data, source=SNAPSHOT_SOURCE, lines={}), source=None)


# --------------------------------------------------------------------------------------------------
# Validation


def _definition_from_data(data: Any, *, source: str, lines: dict[FieldPath, int]) -> RubricDefinition:
    if data is None:
        raise RubricFileError(
            source, FILE_FIELD, "is empty; a rubric needs a slug, title, levels and criteria"
        )
    if not isinstance(data, dict):
        raise RubricFileError(
            source,
            FILE_FIELD,
            f"must be a set of rubric fields (slug, title, levels, criteria, ...), but holds {_describe(data)}",
        )
    _check_characters(data, (), source)
    data = _normalise_text(data)
    _check_schema(data, source, lines)
    _check_meaning(data, source)
    return _build(data, source)


def _check_characters(value: Any, path: FieldPath, source: str) -> None:
    """NUL and other control characters, in values and in field names, before anything strips them."""
    if isinstance(value, str):
        match = _FORBIDDEN_CHARS.search(value)
        if match:
            raise RubricFileError(
                source,
                _format_field(path),
                f"contains {_char_name(match.group())} at character {match.start() + 1}; "
                "only tabs and line breaks are allowed",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (match := _FORBIDDEN_CHARS.search(key)):
                raise RubricFileError(
                    source, _format_field(path), f"has a field name that contains {_char_name(match.group())}"
                )
            _check_characters(item, (*path, key), source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_characters(item, (*path, index), source)


def _normalise_text(value: Any) -> Any:
    """NFC and surrounding whitespace removed, so equal-looking text hashes equally."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, dict):
        return {key: _normalise_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise_text(item) for item in value]
    return value


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    # JSON Schema counts 3.0 as an integer; a level value written as 3.0 is a typo, not a level.
    strict_integers = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(base, type_checker=strict_integers)(schema)


_PRIORITY = {"type": 0, "required": 1, "additionalProperties": 2}


def _check_schema(data: dict[str, Any], source: str, lines: dict[FieldPath, int]) -> None:
    """Raise the schema problem that comes first in the file."""
    problems = [_schema_problem(error) for error in _validator().iter_errors(data)]
    if not problems:
        return
    path, problem, _priority = min(
        problems, key=lambda p: (_line_of(p[0], lines), len(p[0]), p[2], _format_field(p[0]))
    )
    raise RubricFileError(source, _format_field(path), problem)


def _schema_problem(error: jsonschema.ValidationError) -> tuple[FieldPath, str, int]:
    """Translate one jsonschema error into (field path, plain-words problem, priority)."""
    path: FieldPath = tuple(error.path)
    keyword = error.validator
    value = error.instance
    priority = _PRIORITY.get(str(keyword), 3)
    if "propertyNames" in error.relative_schema_path:
        return (
            (*path, value),
            "is not a level value; descriptors are keyed by level value (like 3:)",
            priority,
        )
    if keyword == "required":
        missing = next(name for name in error.validator_value if name not in value)
        return (*path, missing), "is required but missing", priority
    if keyword == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = next(name for name in value if name not in allowed)
        return (*path, extra), f"is not a known field here (allowed: {', '.join(allowed)})", priority
    if keyword == "type":
        return path, f"must be {_expected(error.validator_value, path)}, not {_describe(value)}", priority
    if keyword == "minLength":
        return path, "must not be empty", priority
    if keyword == "maxLength":
        return path, f"is too long ({len(value):,} characters; at most {error.validator_value:,})", priority
    if keyword == "pattern" and path and path[-1] in ("slug", "key"):
        return (
            path,
            f'must be lowercase letters a-z and digits, joined by single hyphens (like "time-audit"), '
            f"not {_describe(value)}",
            priority,
        )
    if keyword == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return path, f"must be one of {choices}, not {_describe(value)}", priority
    if keyword in ("minItems", "maxItems"):
        one, many = {"levels": ("level", "levels"), "criteria": ("criterion", "criteria")}.get(
            str(path[-1]) if path else "", ("entry", "entries")
        )
        bound = error.validator_value
        word = "needs at least" if keyword == "minItems" else "allows at most"
        found = f"{len(value)} {one if len(value) == 1 else many}"
        return path, f"{word} {bound} {one if bound == 1 else many}; found {found}", priority
    if keyword in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        return path, f"must be between {low} and {high}, not {value}", priority
    return path, error.message, priority


def _check_meaning(data: dict[str, Any], source: str) -> None:
    """What the schema cannot say. Runs on schema-valid data only."""

    def fail(field: str, problem: str) -> RubricFileError:
        return RubricFileError(source, field, problem)

    levels = data["levels"]
    position_of_value: dict[int, int] = {}
    level_of_label: dict[str, int] = {}
    for index, level in enumerate(levels):
        value, label = level["value"], _one_line(level["label"])
        if value in position_of_value:
            raise fail(
                f"levels[{index}].value",
                f"level {value} is listed twice (also at levels[{position_of_value[value]}]); "
                "each level needs its own value",
            )
        if index and value < levels[index - 1]["value"]:
            raise fail(
                f"levels[{index}].value",
                f"levels must be listed from lowest to highest value; {value} comes after "
                f"{levels[index - 1]['value']}",
            )
        if label.casefold() in level_of_label:
            raise fail(
                f"levels[{index}].label",
                f'"{label}" is already the label of level {level_of_label[label.casefold()]}; '
                "each level needs its own label",
            )
        position_of_value[value] = index
        level_of_label[label.casefold()] = value

    values = [level["value"] for level in levels]
    shown = ", ".join(str(v) for v in values)
    if data["earn_cut"] not in position_of_value:
        raise fail("earn_cut", f"must be one of the level values ({shown}), not {data['earn_cut']}")

    position_of_key: dict[str, int] = {}
    for index, criterion in enumerate(data["criteria"]):
        key = criterion["key"]
        if key in position_of_key:
            raise fail(
                f"criteria[{index}].key",
                f'"{key}" is already the key of criteria[{position_of_key[key]}]; '
                "each criterion needs its own key",
            )
        position_of_key[key] = index
        descriptors = criterion["descriptors"]
        for level in levels:
            if str(level["value"]) not in descriptors:
                raise fail(
                    f"criteria[{index}].descriptors",
                    f'missing a descriptor for level {level["value"]} ("{_one_line(level["label"])}")',
                )
        for name in descriptors:
            if int(name) not in position_of_value:
                raise fail(
                    f"criteria[{index}].descriptors.{name}",
                    f"there is no level {name} in this rubric (its levels are {shown})",
                )


def _build(data: dict[str, Any], source: str) -> RubricDefinition:
    levels = tuple(Level(value=level["value"], label=_one_line(level["label"])) for level in data["levels"])
    criteria = tuple(
        Criterion(
            key=criterion["key"],
            title=_one_line(criterion["title"]),
            description=criterion["description"],
            descriptors=tuple(criterion["descriptors"][str(level.value)] for level in levels),
        )
        for criterion in data["criteria"]
    )
    return RubricDefinition(
        slug=data["slug"],
        title=_one_line(data["title"]),
        description=data["description"],
        level_of_measurement=data.get("level_of_measurement", DEFAULT_LEVEL_OF_MEASUREMENT),
        earn_cut=data["earn_cut"],
        levels=levels,
        criteria=criteria,
        source=source,
    )


def _descriptor_lists_to_mappings(data: dict[str, Any]) -> None:
    """Snapshots keep descriptors as a list ordered like the levels; files key them by level value."""
    levels, criteria = data.get("levels"), data.get("criteria")
    if not (isinstance(levels, list) and isinstance(criteria, list)):
        return
    if not all(isinstance(level, dict) for level in levels):
        return
    values = [level.get("value") for level in levels]
    for index, criterion in enumerate(criteria):
        if isinstance(criterion, dict) and isinstance(criterion.get("descriptors"), list):
            descriptors = criterion["descriptors"]
            if len(descriptors) != len(values):
                raise RubricFileError(
                    SNAPSHOT_SOURCE,
                    f"criteria[{index}].descriptors",
                    f"has {len(descriptors)} descriptors for {len(values)} levels",
                )
            criterion["descriptors"] = {str(v): text for v, text in zip(values, descriptors, strict=True)}


def _too_large(size: int) -> str:
    return f"is too large ({size / 1024:,.1f} KiB; at most {MAX_FILE_BYTES // 1024} KiB)"
