"""Rubric files and demo anchors: the shipped content loads, and malformed files are refused clearly.

Fast and database-free: everything here is the pure loader in ``calibration/rubrics.py``.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import hashlib
import itertools
import json
import pickle
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from calibration import rubric_problems, rubric_yaml, rubrics
from calibration.rubrics import (
    FILE_FIELD,
    MAX_FILE_BYTES,
    RubricDefinition,
    RubricDirError,
    RubricFileError,
    load_rubric_dir,
    load_rubric_file,
    parse_rubric,
    rubric_from_canonical,
)
from calibration.services.rules import DEFAULT_PASS_RULE
from calibration.services.selection import DEFAULT_TARGET, Candidate, covered_pairs, select_anchors

REPO = Path(__file__).resolve().parents[2]
RUBRIC_DIR = REPO / "rubrics"
ANCHORS_FILE = REPO / "calibration" / "demo" / "anchors.yaml"
TRAINING_ANCHORS_FILE = REPO / "calibration" / "demo" / "training_anchors.yaml"
SPRING_ANCHORS_FILE = REPO / "calibration" / "demo" / "spring_anchors.yaml"
SHIPPED = sorted(p.name for p in RUBRIC_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def shipped() -> dict[str, RubricDefinition]:
    return {r.slug: r for r in load_rubric_dir(RUBRIC_DIR)}


def _raw(name: str) -> dict[str, Any]:
    return yaml.safe_load((RUBRIC_DIR / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------
# Shipped rubrics


def test_the_three_rubrics_are_shipped() -> None:
    assert SHIPPED == [
        "analyzing-time.yaml",
        "applying-improvement-science.yaml",
        "implementing-equitable-practices.yaml",
    ]


@pytest.mark.parametrize(
    ("name", "values", "labels", "earn_cut", "measurement", "criteria_range"),
    [
        (
            "analyzing-time.yaml",
            (1, 2, 3, 4),
            ("Not yet evident", "Emerging", "Proficient", "Exemplary"),
            3,
            "ordinal",
            (4, 5),
        ),
        (
            "applying-improvement-science.yaml",
            (1, 2, 3, 4),
            ("Not yet evident", "Emerging", "Proficient", "Exemplary"),
            3,
            "ordinal",
            (5, 5),
        ),
        ("implementing-equitable-practices.yaml", (0, 1), ("Not yet", "Demonstrated"), 1, "nominal", (3, 4)),
    ],
)
def test_shipped_rubric_loads(
    name: str,
    values: tuple[int, ...],
    labels: tuple[str, ...],
    earn_cut: int,
    measurement: str,
    criteria_range: tuple[int, int],
) -> None:
    rubric = load_rubric_file(RUBRIC_DIR / name)
    assert rubric.source == name
    assert rubric.slug == Path(name).stem
    assert rubric.level_values == values
    assert tuple(level.label for level in rubric.levels) == labels
    assert rubric.earn_cut == earn_cut
    assert rubric.level_of_measurement == measurement
    assert criteria_range[0] <= len(rubric.criteria) <= criteria_range[1]
    assert re.fullmatch(r"[0-9a-f]{64}", rubric.content_hash)
    for criterion in rubric.criteria:
        assert len(criterion.descriptors) == len(values)
        for text in criterion.descriptors:
            # 1-3 sentences, specific enough to be more than a label.
            assert 60 <= len(text) <= 600, (criterion.key, text)


def test_schema_file_is_a_valid_2020_12_schema() -> None:
    schema = json.loads((RUBRIC_DIR / "schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"].endswith("/draft/2020-12/schema")
    jsonschema.Draft202012Validator.check_schema(schema)


def test_loader_imports_only_stdlib_yaml_and_jsonschema() -> None:
    # The loader is rubrics.py plus its two parts; they may import each other, nothing else of ours.
    parts = (rubrics, rubric_yaml, rubric_problems)
    own = {part.__name__ for part in parts}
    imported: set[str] = set()
    for part in parts:
        tree = ast.parse(Path(str(part.__file__)).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, "no relative imports: the loader stands alone"
                if node.module not in own:
                    imported.add((node.module or "").split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"yaml", "jsonschema"}


# --------------------------------------------------------------------------------------------------
# Content hash and canonical form


def _commented(text: str) -> str:
    return "# a comment at the top\n" + text.replace("\nlevels:", "\n# levels, low to high\nlevels:")


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(
    "reformat",
    [
        pytest.param(lambda d: yaml.safe_dump(d, sort_keys=True), id="sorted-keys"),
        pytest.param(
            lambda d: yaml.safe_dump(dict(reversed(d.items())), sort_keys=False), id="reversed-keys"
        ),
        pytest.param(lambda d: yaml.safe_dump(d, default_style='"', width=60), id="all-double-quoted"),
        pytest.param(lambda d: yaml.safe_dump(d, default_flow_style=True, width=10_000), id="flow-style"),
        pytest.param(lambda d: json.dumps(d, indent=3), id="json"),
        pytest.param(lambda d: _commented(yaml.safe_dump(d, sort_keys=False)), id="comments"),
    ],
)
def test_hash_ignores_formatting(name: str, reformat: Callable[[dict[str, Any]], str]) -> None:
    original = load_rubric_file(RUBRIC_DIR / name)
    data = _raw(name)
    for criterion in data["criteria"]:  # keys as text ("3":) instead of numbers (3:)
        criterion["descriptors"] = {str(k): v for k, v in criterion["descriptors"].items()}
    again = parse_rubric(reformat(data), source=name)
    assert again.content_hash == original.content_hash
    assert again == original


def test_hash_ignores_surrounding_whitespace_and_block_style() -> None:
    folded = "title: Time\ndescription: >-\n  Plain words.\n"
    literal = "title: '  Time '\ndescription: |\n  Plain words.\n\n"
    rest = (
        "slug: s\nearn_cut: 1\nlevels: [{value: 0, label: A}, {value: 1, label: B}]\n"
        "criteria: [{key: k, title: T, description: D, descriptors: {0: no evidence, 1: evidence}}]\n"
    )
    assert (
        parse_rubric(folded + rest, source="a").content_hash
        == parse_rubric(literal + rest, source="b").content_hash
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda d: d["criteria"][0]["descriptors"].update({2: "A different descriptor."}), id="descriptor"
        ),
        pytest.param(
            lambda d: d["criteria"][0]["descriptors"].update({2: d["criteria"][0]["descriptors"][2] + "!"}),
            id="one-character",
        ),
        pytest.param(lambda d: d["levels"][1].update(label="Developing"), id="label"),
        pytest.param(lambda d: d["criteria"].reverse(), id="criteria-order"),
        pytest.param(lambda d: d.update(earn_cut=2), id="earn-cut"),
        pytest.param(lambda d: d.update(level_of_measurement="interval"), id="measurement"),
    ],
)
def test_hash_changes_with_content(change: Callable[[dict[str, Any]], None]) -> None:
    data = _raw("analyzing-time.yaml")
    original = parse_rubric(yaml.safe_dump(data), source="a.yaml")
    change(data)
    changed = parse_rubric(yaml.safe_dump(data), source="a.yaml")
    assert changed.content_hash != original.content_hash
    assert changed != original


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_through_canonical_snapshot(name: str) -> None:
    rubric = load_rubric_file(RUBRIC_DIR / name)
    stored = json.loads(json.dumps(rubric.to_canonical_dict()))  # what a database column gives back
    rebuilt = rubric_from_canonical(stored)
    assert rebuilt == rubric
    assert dataclasses.replace(rebuilt, source=rubric.source) == rubric
    assert rebuilt.source is None
    assert rebuilt.content_hash == rubric.content_hash


def test_hash_is_sha256_of_canonical_json(shipped: dict[str, RubricDefinition]) -> None:
    for rubric in shipped.values():
        canonical = json.dumps(rubric.to_canonical_dict(), sort_keys=True, separators=(",", ":"))
        assert rubric.to_canonical_json() == canonical
        assert hashlib.sha256(canonical.encode()).hexdigest() == rubric.content_hash


def test_canonical_dict_lists_descriptors_in_level_order(shipped: dict[str, RubricDefinition]) -> None:
    canonical = shipped["analyzing-time"].to_canonical_dict()
    assert set(canonical) == {
        "slug",
        "title",
        "description",
        "level_of_measurement",
        "earn_cut",
        "levels",
        "criteria",
    }
    first = canonical["criteria"][0]
    raw = _raw("analyzing-time.yaml")["criteria"][0]["descriptors"]
    assert first["descriptors"] == [raw[v].strip() for v in (1, 2, 3, 4)]


def test_snapshot_is_checked_like_a_file(shipped: dict[str, RubricDefinition]) -> None:
    stored = shipped["analyzing-time"].to_canonical_dict()
    stored["earn_cut"] = 9
    with pytest.raises(RubricFileError) as info:
        rubric_from_canonical(stored)
    assert str(info.value) == "(stored rubric): earn_cut: must be one of the level values (1, 2, 3, 4), not 9"

    stored = shipped["analyzing-time"].to_canonical_dict()
    stored["criteria"][1]["descriptors"].pop()
    with pytest.raises(RubricFileError, match=r"criteria\[1\]\.descriptors: has 3 descriptors for 4 levels"):
        rubric_from_canonical(stored)


def test_a_wrong_content_hash_is_refused(shipped: dict[str, RubricDefinition]) -> None:
    rubric = shipped["implementing-equitable-practices"]
    with pytest.raises(ValueError, match="does not match"):
        dataclasses.replace(rubric, content_hash="0" * 64)


def test_helpers(shipped: dict[str, RubricDefinition]) -> None:
    rubric = shipped["implementing-equitable-practices"]
    assert rubric.label_for(1) == "Demonstrated"
    assert rubric.criterion_keys[0] == "disaggregated-data"
    with pytest.raises(KeyError):
        rubric.label_for(2)


# --------------------------------------------------------------------------------------------------
# Malformed files


def _minimal() -> dict[str, Any]:
    return {
        "slug": "small-rubric",
        "title": "Small rubric",
        "description": "A rubric for tests.",
        "earn_cut": 2,
        "levels": [
            {"value": 1, "label": "Beginning"},
            {"value": 2, "label": "Developing"},
            {"value": 3, "label": "Secure"},
        ],
        "criteria": [
            {
                "key": "first",
                "title": "First criterion",
                "description": "Looks at the first thing.",
                "descriptors": {1: "Little evidence.", 2: "Some evidence.", 3: "Full evidence."},
            },
            {
                "key": "second",
                "title": "Second criterion",
                "description": "Looks at the second thing.",
                "descriptors": {1: "Little evidence.", 2: "Some evidence.", 3: "Full evidence."},
            },
        ],
    }


def _yaml(change: Callable[[dict[str, Any]], object]) -> str:
    data = _minimal()
    change(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """_set("criteria.0.title", "x") sets data["criteria"][0]["title"] = "x"."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        del target[last]

    return change


def _valid_text() -> str:
    return _yaml(lambda d: None)


def _only_one_level(data: dict[str, Any]) -> None:
    """One level, with a matching descriptor, so only the count of levels is wrong."""
    data["levels"] = data["levels"][:1]
    data["earn_cut"] = 1
    for criterion in data["criteria"]:
        criterion["descriptors"] = {1: "Only level."}


MALFORMED: list[Any] = [
    # (id, file content, field, problem fragment)
    ("yaml-syntax", "slug: a\ntitle: [unclosed\n", FILE_FIELD, "YAML syntax error at line 3, column 1"),
    ("yaml-bad-indent", "slug: a\n title: b\n  - c\n", FILE_FIELD, "YAML syntax error at line 2"),
    ("two-documents", "slug: a\n---\nslug: b\n", FILE_FIELD, "expected a single document"),
    ("not-a-mapping-list", "- slug\n- title\n", FILE_FIELD, "must be a set of rubric fields"),
    ("not-a-mapping-text", "just a sentence\n", FILE_FIELD, 'but holds the text "just a sentence"'),
    ("empty-file", "", FILE_FIELD, "is empty"),
    ("only-comments", "# nothing here\n", FILE_FIELD, "is empty"),
    ("missing-field", _yaml(_drop("title")), "title", "is required but missing"),
    ("missing-nested", _yaml(_drop("criteria.1.description")), "criteria[1].description", "is required"),
    ("unknown-field", _yaml(_set("colour", "blue")), "colour", "is not a known field here (allowed: slug,"),
    ("unknown-nested", _yaml(_set("levels.0.colour", "blue")), "levels[0].colour", "(allowed: value, label)"),
    (
        "wrong-type-number",
        _yaml(_set("earn_cut", "two")),
        "earn_cut",
        'must be a whole number, not the text "two"',
    ),
    ("wrong-type-decimal", _yaml(_set("levels.1.value", 2.5)), "levels[1].value", "must be a whole number"),
    ("wrong-type-list", _yaml(_set("levels", "1, 2, 3")), "levels", "must be a list"),
    ("wrong-type-text", _yaml(_set("criteria.0.title", ["a", "b"])), "criteria[0].title", "must be text"),
    (
        "wrong-type-mapping",
        _yaml(_set("criteria.1", "second")),
        "criteria[1]",
        'must be a set of "name: value"',
    ),
    (
        "wrong-type-descriptors",
        _yaml(_set("criteria.0.descriptors", ["a", "b", "c"])),
        "criteria[0].descriptors",
        "must be one descriptor per level",
    ),
    ("empty-value", _yaml(_set("description", None)), "description", "must be text, not an empty value"),
    (
        "earn-cut-not-a-level",
        _yaml(_set("earn_cut", 4)),
        "earn_cut",
        "must be one of the level values (1, 2, 3)",
    ),
    (
        "duplicate-level-values",
        _yaml(_set("levels.2.value", 2)),
        "levels[2].value",
        "level 2 is listed twice (also at levels[1])",
    ),
    (
        "levels-not-increasing",
        _yaml(lambda d: d["levels"].reverse()),
        "levels[1].value",
        "from lowest to highest value; 2 comes after 3",
    ),
    ("level-out-of-range", _yaml(_set("levels.0.value", -1)), "levels[0].value", "must be between 0 and 100"),
    (
        "duplicate-labels",
        _yaml(_set("levels.2.label", "developing")),
        "levels[2].label",
        '"developing" is already the label of level 2',
    ),
    (
        "missing-descriptor",
        _yaml(_drop("criteria.1.descriptors.2")),
        "criteria[1].descriptors",
        'missing a descriptor for level 2 ("Developing")',
    ),
    (
        "extra-descriptor",
        _yaml(_set("criteria.0.descriptors.4", "Beyond the scale.")),
        "criteria[0].descriptors.4",
        "there is no level 4 in this rubric (its levels are 1, 2, 3)",
    ),
    (
        "descriptor-key-not-a-level",
        _yaml(_set("criteria.0.descriptors.high", "Beyond the scale.")),
        "criteria[0].descriptors.high",
        "is not a level value",
    ),
    (
        "duplicate-criterion-keys",
        _yaml(_set("criteria.1.key", "first")),
        "criteria[1].key",
        '"first" is already the key of criteria[0]',
    ),
    ("empty-title", _yaml(_set("title", "")), "title", "must not be empty"),
    ("blank-title", _yaml(_set("criteria.1.title", "   ")), "criteria[1].title", "must not be empty"),
    ("bad-slug", _yaml(_set("slug", "Small Rubric")), "slug", "lowercase letters a-z and digits"),
    ("bad-key", _yaml(_set("criteria.0.key", "first_one")), "criteria[0].key", "joined by single hyphens"),
    (
        "bad-measurement",
        _yaml(_set("level_of_measurement", "scale")),
        "level_of_measurement",
        "must be one of",
    ),
    (
        "nul-escaped",
        _valid_text().replace("title: First criterion", 'title: "First\\0 criterion"'),
        "criteria[0].title",
        "contains a NUL character (U+0000) at character 6",
    ),
    (
        "nul-raw",
        "slug: a\ntitle: Fi\x00rst\n",
        FILE_FIELD,
        "contains a NUL character (U+0000) at line 2, column 10",
    ),
    (
        "control-character",
        _yaml(_set("criteria.0.descriptors.2", "Some\x07 evidence.")),
        "criteria[0].descriptors.2",
        "contains a control character (U+0007)",
    ),
    (
        "control-character-escaped",
        _valid_text().replace("description: A rubric for tests.", 'description: "A \\x1b[31m rubric"'),
        "description",
        "contains a control character (U+001B)",
    ),
    (
        "control-in-field-name",
        _yaml(_set("ti\x01tle", "x")),
        FILE_FIELD,
        "field name that contains a control",
    ),
    (
        "text-too-long",
        _yaml(_set("description", "x" * 2001)),
        "description",
        "is too long (2,001 characters; at most 2,000)",
    ),
    (
        "title-too-long",
        _yaml(_set("criteria.0.title", "x" * 201)),
        "criteria[0].title",
        "is too long (201 characters; at most 200)",
    ),
    ("too-few-levels", _yaml(_only_one_level), "levels", "needs at least 2 levels; found 1 level"),
    (
        "too-many-levels",
        _yaml(_set("levels", [{"value": v, "label": f"L{v}"} for v in range(11)])),
        "levels",
        "allows at most 10 levels; found 11 levels",
    ),
    ("no-criteria", _yaml(_set("criteria", [])), "criteria", "needs at least 1 criterion; found 0 criteria"),
    ("duplicate-yaml-key", _valid_text() + "slug: again\n", "slug", "appears twice (lines 1 and"),
    ("yaml-alias", "slug: &s small\ntitle: *s\n", "title", "uses a YAML alias"),
    ("yaml-merge-key", "base: &b {a: 1}\nslug:\n  <<: *b\n", "slug", "merge key"),
    ("yaml-set-tag", "slug: !!set {a, b}\n", "slug", "uses the YAML tag tag:yaml.org,2002:set"),
    (
        "yaml-python-tag",
        "slug: !!python/name:os.system\n",
        FILE_FIELD,
        "YAML that rubric files do not support",
    ),
    ("yaml-nested-too-deep", "slug: " + "[" * 3000 + "]" * 3000 + "\n", FILE_FIELD, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("content", "field", "problem"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_file_is_refused_with_file_field_and_problem(
    tmp_path: Path, content: str, field: str, problem: str
) -> None:
    path = tmp_path / "small-rubric.yaml"
    path.write_bytes(content.encode("utf-8"))
    with pytest.raises(RubricFileError) as info:
        load_rubric_file(path)
    err = info.value
    assert (err.file, err.field) == ("small-rubric.yaml", field), str(err)
    assert problem in err.problem, str(err)
    assert str(err) == f"small-rubric.yaml: {field}: {err.problem}"
    # parse_rubric gives the same answer for the same text.
    with pytest.raises(RubricFileError) as again:
        parse_rubric(content, source="small-rubric.yaml")
    assert str(again.value) == str(err)


def test_the_minimal_rubric_itself_is_valid() -> None:
    rubric = parse_rubric(_valid_text(), source="small-rubric.yaml")
    assert rubric.level_values == (1, 2, 3)
    assert rubric.level_of_measurement == "ordinal"  # the default


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(_valid_text().replace("A rubric", "Évaluation").encode("latin-1"))
    with pytest.raises(RubricFileError) as info:
        load_rubric_file(path)
    assert str(info.value) == (
        "latin.yaml: (file): is not UTF-8 text (byte 0xC9 at line 3, column 14); save the file with UTF-8 encoding"
    )


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_bytes(_valid_text().encode("utf-16"))
    with pytest.raises(RubricFileError, match=r"wide\.yaml: \(file\): is not UTF-8 text"):
        load_rubric_file(path)


def test_oversize_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    padding = "# padding\n" * (MAX_FILE_BYTES // 10)
    path.write_text(_valid_text() + padding, encoding="utf-8")
    with pytest.raises(RubricFileError) as info:
        load_rubric_file(path)
    assert info.value.field == FILE_FIELD
    assert "is too large" in info.value.problem and "at most 256 KiB" in info.value.problem
    with pytest.raises(RubricFileError, match="is too large"):
        parse_rubric(path.read_text(encoding="utf-8"), source="big.yaml")
    # Exactly at the limit is fine.
    path.write_text((_valid_text() + padding)[:MAX_FILE_BYTES], encoding="utf-8")
    assert load_rubric_file(path).slug == "small-rubric"


def test_missing_file_is_a_rubric_file_error(tmp_path: Path) -> None:
    with pytest.raises(RubricFileError, match=r"nope\.yaml: \(file\): cannot be read"):
        load_rubric_file(tmp_path / "nope.yaml")


def test_lone_surrogate_text_is_refused() -> None:
    with pytest.raises(RubricFileError, match="is not valid Unicode text"):
        parse_rubric("slug: a\ud800\n", source="s.yaml")


def test_first_problem_in_the_file_is_reported() -> None:
    def two_problems(d: dict[str, Any]) -> None:
        d["criteria"][1]["title"] = ""
        d["levels"][0]["colour"] = "red"

    with pytest.raises(RubricFileError) as info:
        parse_rubric(_yaml(two_problems), source="x.yaml")
    assert info.value.field == "levels[0].colour"  # levels come before criteria in the file


def test_yaml_words_and_dates_stay_text() -> None:
    text = (
        _valid_text()
        .replace("label: Beginning", "label: No")
        .replace("title: Small rubric", "title: 2024-05-01")
    )
    rubric = parse_rubric(text, source="s.yaml")
    assert rubric.levels[0].label == "No"
    assert rubric.title == "2024-05-01"


def test_text_is_normalised() -> None:
    text = _yaml(_set("criteria.0.title", "  Looks\nat  the\tthing  ")).replace("Small rubric", "Cafe\u0301")
    rubric = parse_rubric("\ufeff" + text, source="s.yaml")  # a byte-order mark is fine
    assert rubric.criteria[0].title == "Looks at the thing"
    assert rubric.title == "Caf\u00e9"  # NFC


def test_errors_survive_pickling() -> None:
    err = RubricFileError("a.yaml", "title", "must not be empty")
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.field, again.problem, str(again)) == (
        err.file,
        err.field,
        err.problem,
        str(err),
    )
    many = RubricDirError([err, RubricFileError("b.yaml", FILE_FIELD, "is empty")])
    assert str(pickle.loads(pickle.dumps(many))) == str(many)


# --------------------------------------------------------------------------------------------------
# Directories


def test_load_rubric_dir_returns_every_rubric_sorted_by_file(shipped: dict[str, RubricDefinition]) -> None:
    loaded = load_rubric_dir(RUBRIC_DIR)
    assert [r.source for r in loaded] == SHIPPED
    assert {r.slug for r in loaded} == set(shipped)


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_load_rubric_dir_validates_every_file_before_returning(tmp_path: Path) -> None:
    _write(tmp_path, "a-good.yaml", _valid_text())
    _write(tmp_path, "b-bad.yaml", _yaml(_set("earn_cut", 9)))
    _write(tmp_path, "c-good.yml", _valid_text().replace("small-rubric", "other-rubric"))
    _write(tmp_path, "d-bad.yml", "- not a rubric\n")
    _write(tmp_path, "notes.txt", "not a rubric file, ignored")
    _write(tmp_path, ".e-hidden.yaml", "editor backup, ignored")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "nested.yaml", "ignored: true")
    with pytest.raises(RubricDirError) as info:
        load_rubric_dir(tmp_path)
    err = info.value
    assert isinstance(err, RubricFileError)
    assert [e.file for e in err.errors] == ["b-bad.yaml", "d-bad.yml"]
    assert (err.file, err.field) == ("b-bad.yaml", "earn_cut")
    assert str(err).splitlines() == [str(e) for e in err.errors]


def test_load_rubric_dir_with_one_bad_file_raises_that_file_error(tmp_path: Path) -> None:
    _write(tmp_path, "a-good.yaml", _valid_text())
    _write(tmp_path, "z-bad.yaml", _yaml(_drop("criteria.0.descriptors.3")))
    with pytest.raises(RubricFileError) as info:
        load_rubric_dir(tmp_path)
    assert type(info.value) is RubricFileError
    assert (
        str(info.value) == 'z-bad.yaml: criteria[0].descriptors: missing a descriptor for level 3 ("Secure")'
    )


def test_load_rubric_dir_refuses_a_slug_used_twice(tmp_path: Path) -> None:
    _write(tmp_path, "one.yaml", _valid_text())
    _write(tmp_path, "two.yaml", _valid_text())
    with pytest.raises(RubricFileError) as info:
        load_rubric_dir(tmp_path)
    assert str(info.value) == 'two.yaml: slug: "small-rubric" is already the slug of one.yaml'


def test_load_rubric_dir_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RubricFileError, match="is not a directory"):
        load_rubric_dir(tmp_path / "missing")


def test_load_rubric_dir_of_an_empty_directory(tmp_path: Path) -> None:
    assert load_rubric_dir(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# Demo anchors

ANCHOR_FIELDS = {"rubric", "title", "purpose", "evidence", "key"}
PURPOSES = {"practice": 1, "qualification": 2, "calibration": 2}
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<!\bMs)(?<!\bMr)(?<!\bDr)[.!?][\"”)]?(?:\s+|$)")


class _NoDuplicateKeysLoader(yaml.SafeLoader):
    """safe_load keeps the last of two equal keys silently; an anchor's key must not lose an entry that way."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = {k for k in keys if keys.count(k) > 1}
        assert not duplicates, f"duplicate keys {duplicates} at line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep=deep)


def _load_anchors(path: Path) -> list[dict[str, Any]]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoDuplicateKeysLoader)
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def anchors() -> list[dict[str, Any]]:
    return _load_anchors(ANCHORS_FILE)


@pytest.fixture(scope="module")
def training_anchors() -> list[dict[str, Any]]:
    return _load_anchors(TRAINING_ANCHORS_FILE)


@pytest.fixture(scope="module")
def spring_anchors() -> list[dict[str, Any]]:
    return _load_anchors(SPRING_ANCHORS_FILE)


@pytest.fixture(scope="module", params=["anchors", "training_anchors", "spring_anchors"])
def any_anchors(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Each demo anchor file in turn, for the checks every anchor must pass."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _by_rubric(anchors: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for anchor in anchors:
        grouped.setdefault(anchor["rubric"], []).append(anchor)
    return grouped


def test_anchors_have_the_expected_shape(
    anchors: list[dict[str, Any]],
    training_anchors: list[dict[str, Any]],
    spring_anchors: list[dict[str, Any]],
    shipped: dict[str, RubricDefinition],
) -> None:
    assert len(anchors) >= 15
    every = anchors + training_anchors + spring_anchors
    titles = [a["title"] for a in every]
    assert len(set(titles)) == len(titles), "anchor titles are unique across the files"
    for anchor in every:
        assert set(anchor) == ANCHOR_FIELDS, anchor.get("title")
        assert anchor["rubric"] in shipped, anchor["rubric"]
        assert anchor["purpose"] in PURPOSES
        assert isinstance(anchor["title"], str) and 0 < len(anchor["title"]) <= 200


def test_anchor_keys_match_their_rubric(
    any_anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]
) -> None:
    for anchor in any_anchors:
        rubric = shipped[anchor["rubric"]]
        key = anchor["key"]
        assert list(key) == list(rubric.criterion_keys), anchor["title"]  # every criterion, in rubric order
        for criterion, entry in key.items():
            where = f"{anchor['title']} / {criterion}"
            assert set(entry) == {"level", "rationale"}, where
            assert type(entry["level"]) is int and entry["level"] in rubric.level_values, where
            rationale = entry["rationale"]
            assert isinstance(rationale, str) and rationale.strip(), where
            sentences = [s for s in _SENTENCE_END.split(rationale) if s.strip()]
            assert 2 <= len(sentences) <= 4, where


def test_anchor_evidence_is_realistic_markdown(any_anchors: list[dict[str, Any]]) -> None:
    for anchor in any_anchors:
        evidence = anchor["evidence"]
        assert 250 <= len(_WORD.findall(evidence)) <= 600, anchor["title"]
        assert re.search(r"^#{2,3} \S", evidence, re.MULTILINE), anchor["title"]  # headings
        assert "|---" in evidence or re.search(r"^\s*(?:[-*]|\d+\.) ", evidence, re.MULTILINE), anchor[
            "title"
        ]
        assert not re.search(r"<[A-Za-z!/]|javascript:|\]\(", evidence), anchor["title"]  # no HTML or links
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", evidence), anchor["title"]


def test_each_rubric_has_one_practice_two_qualification_two_calibration_anchors(
    anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]
) -> None:
    grouped = _by_rubric(anchors)
    assert set(grouped) == set(shipped)
    for slug, group in grouped.items():
        assert Counter(a["purpose"] for a in group) == Counter(PURPOSES), slug


def _uncovered(group: list[dict[str, Any]], rubric: RubricDefinition) -> dict[str, set[int]]:
    missing = {}
    for criterion in rubric.criterion_keys:
        seen = {a["key"][criterion]["level"] for a in group}
        if set(rubric.level_values) - seen:
            missing[criterion] = set(rubric.level_values) - seen
    return missing


def test_anchors_cover_every_level_of_every_criterion(
    anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]
) -> None:
    for slug, group in _by_rubric(anchors).items():
        assert _uncovered(group, shipped[slug]) == {}, slug


def test_scored_anchors_alone_cover_every_level(
    anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]
) -> None:
    """Qualification and calibration anchors (not practice) also cover every level, so a scored round
    built from them can include every level of every criterion."""
    for slug, group in _by_rubric(anchors).items():
        scored = [a for a in group if a["purpose"] != "practice"]
        assert _uncovered(scored, shipped[slug]) == {}, slug


def _quality(group: list[dict[str, Any]], rubric: RubricDefinition) -> set[str]:
    """Which of strong, weak, mixed and borderline the group's keys include."""
    cut = rubric.level_values.index(rubric.earn_cut)
    kinds = set()
    for anchor in group:
        positions = [rubric.level_values.index(e["level"]) for e in anchor["key"].values()]
        below = sum(p < cut for p in positions)
        if below == 0:
            kinds.add("strong")
        if below > len(positions) / 2:
            kinds.add("weak")
        if min(positions) == 0 and max(positions) == len(rubric.levels) - 1:
            kinds.add("mixed")
        if all(abs(p - cut) <= 1 for p in positions) and 0 < below < len(positions) / 2:
            kinds.add("borderline")
    return kinds


def test_spring_anchors_are_a_fresh_covering_calibration_set(
    anchors: list[dict[str, Any]], spring_anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]
) -> None:
    """The demo's spring round scores these instead of re-serving the autumn round's anchors (whose keys
    every demo assessor has read): as many as the autumn round, all calibration anchors of Analyzing Time,
    covering every level of every criterion, of varied quality; the first is not at the top level on the
    first criterion, since the demo's Tom questions that key asking for the next level."""
    rubric = shipped["analyzing-time"]
    autumn = _by_rubric(anchors)["analyzing-time"]
    assert len(spring_anchors) == len(autumn)
    assert {(a["rubric"], a["purpose"]) for a in spring_anchors} == {("analyzing-time", "calibration")}
    assert _uncovered(spring_anchors, rubric) == {}
    assert _quality(spring_anchors, rubric) == {"strong", "weak", "mixed", "borderline"}
    first_criterion = rubric.criterion_keys[0]
    assert spring_anchors[0]["key"][first_criterion]["level"] != rubric.level_values[-1]


def test_anchor_quality_varies(anchors: list[dict[str, Any]], shipped: dict[str, RubricDefinition]) -> None:
    """Each rubric has a strong, a weak, a mixed and a borderline anchor."""
    for slug, group in _by_rubric(anchors).items():
        assert _quality(group, shipped[slug]) == {"strong", "weak", "mixed", "borderline"}, slug


def test_anchor_file_has_no_unexpected_yaml(any_anchors: list[dict[str, Any]]) -> None:
    # Plain data only: a deep copy equals the original and the text round-trips through JSON.
    assert json.loads(json.dumps(any_anchors)) == copy.deepcopy(any_anchors)


def test_training_anchors_let_an_invited_assessor_qualify(
    anchors: list[dict[str, Any]],
    training_anchors: list[dict[str, Any]],
    shipped: dict[str, RubricDefinition],
) -> None:
    """Accepting an invitation in the demo assigns practice and qualification rounds on the rubric
    with the most such anchors (services/training.py): there, the qualification anchors must cover
    every level of every criterion and meet the pass rule's minimum evidence, and the same rubric
    must have the most practice anchors too. A failed first attempt gets a second one of anchors the
    person has not seen (selection.py leaves seen anchors out), so the qualification anchors must also
    split into two disjoint attempts of at least the minimum evidence, each covering every level of
    every criterion, and that must hold whichever covering anchors the first attempt draws."""
    assert {a["purpose"] for a in training_anchors} <= {"practice", "qualification"}
    everything = anchors + training_anchors

    def most(purpose: str) -> tuple[str, int]:
        counts = Counter(a["rubric"] for a in everything if a["purpose"] == purpose)
        (slug, n), *rest = counts.most_common()
        assert all(m < n for _, m in rest), f"a tie for the most {purpose} anchors: {counts}"
        return slug, n

    slug, n_qualification = most("qualification")
    assert most("practice")[0] == slug
    rubric = shipped[slug]
    rule = DEFAULT_PASS_RULE
    assert n_qualification >= rule["min_anchors"]
    assert n_qualification * len(rubric.criterion_keys) >= rule["min_scores"]
    qualification = [a for a in everything if a["rubric"] == slug and a["purpose"] == "qualification"]
    assert _uncovered(qualification, rubric) == {}

    # Two attempts. training.py asks auto_select_anchors for size = max(min_anchors, DEFAULT_TARGET)
    # anchors covering every level; whichever such draw the first attempt gets, the anchors left must
    # again be at least `size` and cover every level.
    size = max(int(rule["min_anchors"]), DEFAULT_TARGET)
    assert size * len(rubric.criterion_keys) >= rule["min_scores"]
    first_draws = [
        set(draw)
        for draw in itertools.combinations(range(len(qualification)), size)
        if _uncovered([qualification[i] for i in draw], rubric) == {}
    ]
    assert first_draws, "no first attempt of the minimum size covers every level"
    for draw in first_draws:
        rest = [a for i, a in enumerate(qualification) if i not in draw]
        titles = sorted(qualification[i]["title"] for i in draw)
        assert len(rest) >= size, f"after a first attempt of {titles}, {len(rest)} unseen anchors are left"
        assert _uncovered(rest, rubric) == {}, f"after a first attempt of {titles}"
    # And through the selection itself, as the services call it (seeds stand for round ids).
    candidates = [
        Candidate(i, {c: e["level"] for c, e in a["key"].items()}) for i, a in enumerate(qualification)
    ]
    every = {(c, lv) for c in rubric.criterion_keys for lv in rubric.level_values}
    choose = functools.partial(
        select_anchors, candidates, criteria=rubric.criterion_keys, levels=rubric.level_values, target=size
    )
    for seed in range(40):
        first = choose(seed=seed)
        second = choose(exclude=first, seed=seed + 1)
        assert len(first) >= size and len(second) >= size and not set(first) & set(second)
        for attempt in (first, second):
            assert covered_pairs(candidates[i].key for i in attempt) >= every, (seed, attempt)
