"""The policy module: every DESIGN §6 default, written once, read through one ProgramSettings."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from calibration.services import policy
from calibration.services.errors import InvalidInput
from calibration.services.policy import (
    CertificationPolicy,
    DriftPolicy,
    EvidencePolicy,
    PassRule,
    ProgramSettings,
    RecalibrationPolicy,
)

PACKAGE = Path(__file__).resolve().parents[2] / "calibration"


def test_pass_rule_defaults_are_designs_numbers():
    rule = ProgramSettings().pass_rule
    assert rule == PassRule()
    assert rule.min_exact == 0.70  # exact agreement with the key >= 70%
    assert rule.min_adjacent == 0.95  # exact-or-adjacent >= 95%
    assert rule.max_discrepant == 1  # at most 1 criterion-score two or more levels off
    assert rule.min_decision == 0.90  # decision agreement at the earn cut >= 90%


def test_evidence_certification_and_recalibration_defaults_are_designs_numbers():
    settings = ProgramSettings()
    assert settings.evidence == EvidencePolicy(min_anchors=5, min_scores=20)
    assert (settings.pass_rule.min_anchors, settings.pass_rule.min_scores) == (5, 20)
    assert (settings.drift.min_anchors, settings.drift.min_scores) == (5, 20)
    cert = settings.certification
    assert cert == CertificationPolicy()
    assert cert.certification_days == 365
    assert cert.reminder_days == 30
    assert cert.attempts == 2
    assert cert.window == dt.timedelta(days=30)
    assert settings.recalibration == RecalibrationPolicy(window_days=14)
    assert settings.drift.recalibration_window_days == 14


def test_drift_defaults_are_designs_numbers():
    drift = DriftPolicy()
    assert drift.ewma_lambda == 0.2
    assert drift.ewma_L == 3.0
    assert drift.cohort_min_alpha == 0.667
    assert drift.baseline_min_drop == 0.15 and drift.cohort_max_drop == 0.15


def test_policies_are_frozen():
    with pytest.raises(AttributeError):
        PassRule().min_exact = 0.5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        DriftPolicy().ewma_L = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ProgramSettings().certification = CertificationPolicy()  # type: ignore[misc]


def test_configuration_takes_its_defaults_from_the_policy(monkeypatch, tmp_path):
    from calibration import config

    for name in (
        "CERTIFICATION_DAYS",
        "REMINDER_DAYS",
        "QUALIFICATION_ATTEMPTS",
        "QUALIFICATION_WINDOW_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    built = config.from_environment(str(tmp_path))
    assert CertificationPolicy.from_config(built) == CertificationPolicy()


def test_round_trip_keeps_values_and_unknown_keys():
    stored = {
        "pass_rule": {"min_exact": 0.8, "min_anchors": 6, "note": "kept"},
        "certification_days": 180,
        "reminder_days_before_expiry": 10,
        "qualification_attempts": 3,
        "recalibration_window_days": 7,
        "drift": {"ewma_L": 2.5, "auto_recalibrate": True, "session_reminder_hours": 0.5, "future": 1},
        "label": "a key this code does not know",
    }
    settings = ProgramSettings.from_json(json.dumps(stored))
    assert settings.pass_rule.min_exact == 0.8 and settings.pass_rule.min_anchors == 6
    assert settings.pass_rule.min_adjacent == 0.95
    assert settings.certification == CertificationPolicy(certification_days=180, reminder_days=10, attempts=3)
    assert settings.recalibration.window_days == 7 and settings.drift.recalibration_window_days == 7
    assert settings.drift.ewma_L == 2.5 and settings.drift.auto_recalibrate is True
    assert settings.drift.session_reminder_hours == 0.5
    assert settings.extra == {"label": "a key this code does not know"}
    assert ProgramSettings.from_json(settings.to_json()) == settings
    written = json.loads(settings.to_json())
    assert written["pass_rule"]["note"] == "kept" and written["drift"]["future"] == 1
    assert json.loads(settings.pass_rule_json())["note"] == "kept"


def test_empty_settings_are_the_defaults_and_write_the_same_keys_as_before():
    assert ProgramSettings.from_json(None) == ProgramSettings() == ProgramSettings.from_json("{}")
    assert json.loads(ProgramSettings().to_json()) == {
        "pass_rule": {
            "min_exact": 0.7,
            "min_adjacent": 0.95,
            "max_discrepant": 1,
            "min_decision": 0.9,
            "min_anchors": 5,
            "min_scores": 20,
        },
        "certification_days": 365,
        "reminder_days_before_expiry": 30,
        "recalibration_window_days": 14,
    }


@pytest.mark.parametrize(
    "stored, where, words",
    [
        ({"pass_rule": {"min_exact": 1.5}}, "pass_rule.min_exact", "between 0 and 1"),
        ({"pass_rule": {"min_anchors": 2.5}}, "pass_rule.min_anchors", "whole number"),
        ({"pass_rule": {"min_adjacent": "high"}}, "pass_rule.min_adjacent", "must be a number"),
        ({"certification_days": -1}, "certification_days", "whole number of at least 0"),
        ({"drift": {"ewma_L": "wide"}}, "drift.ewma_L", "must be a number"),
        ({"drift": {"auto_recalibrate": "yes"}}, "drift.auto_recalibrate", "true or false"),
    ],
)
def test_bad_values_are_refused_with_a_plain_message(stored, where, words):
    with pytest.raises(InvalidInput) as caught:
        ProgramSettings.from_json(json.dumps(stored))
    assert words in caught.value.field_errors[where][0]


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"pass_rule": 3}'])
def test_malformed_settings_are_refused(text):
    with pytest.raises(InvalidInput):
        ProgramSettings.from_json(text)


# Each DESIGN §6 default, as the literal that may appear once in calibration/ (the assignment that
# names it), and where that one place is.
DEFAULT_LITERALS = {
    "MIN_EXACT": ("0.70", "stats/passrule.py"),
    "MIN_ADJACENT": ("0.95", "stats/passrule.py"),
    "MIN_DECISION": ("0.90", "stats/passrule.py"),
    "MAX_DISCREPANT": ("1", "stats/passrule.py"),
    "MIN_ANCHORS": ("5", "stats/labels.py"),
    "MIN_SCORES": ("20", "stats/labels.py"),
    "EWMA_LAMBDA": ("0.2", "stats/ewma.py"),
    "EWMA_L": ("3.0", "stats/ewma.py"),
    "CERTIFICATION_DAYS": ("365", "services/policy.py"),
    "REMINDER_DAYS": ("30", "services/policy.py"),
    "QUALIFICATION_ATTEMPTS": ("2", "services/policy.py"),
    "RECALIBRATION_WINDOW_DAYS": ("14", "services/policy.py"),
    "PRACTICE_TRIES": ("3", "services/policy.py"),
}


def _sources() -> dict[str, str]:
    return {
        str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8")
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts
    }


def test_each_default_is_assigned_once_and_the_policy_module_uses_it():
    sources = _sources()
    for name, (literal, home) in DEFAULT_LITERALS.items():
        assigned = [
            path
            for path, text in sources.items()
            if re.search(rf"^{name} = {re.escape(literal)}$", text, re.M)
        ]
        assert assigned == [home], (name, assigned)
    assert policy.PassRule().min_exact == 0.70


CHARTS = "web/charts.py"


def _numbers(text: str) -> list[tuple[float, int]]:
    """(value, line) of every number in code (not in strings, docstrings or comments)."""
    out = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NUMBER and not token.string.endswith(("j", "J")):
            literal = token.string.replace("_", "")
            # Hex, octal and binary literals (bit masks such as 0x80) are integers too.
            value = float(int(literal, 0)) if literal[:2].lower() in ("0x", "0o", "0b") else float(literal)
            out.append((value, token.start[0]))
    return out


@pytest.mark.parametrize(
    "value, home",
    [
        (365, "services/policy.py"),
        (0.70, "stats/passrule.py"),
        (0.667, "stats/labels.py"),
    ],
)
def test_distinctive_default_numbers_appear_in_exactly_one_place_in_the_stats_and_services(value, home):
    """Numbers no other rule has a reason to write appear once in the statistics library and the
    services and views (charts' layout numbers aside)."""
    hits = [
        f"{path}:{line}"
        for path, text in _sources().items()
        if path.split("/")[0] in ("stats", "services", "web", "config.py", "cli", "notify")
        if path != CHARTS  # the charts' layout numbers (moved from the package root into web/)
        for number, line in _numbers(text)
        if number == value
    ]
    assert [h.split(":")[0] for h in hits] == [home], hits


@pytest.mark.parametrize("value", [365, 0.70, 0.95, 0.90, 0.667, 0.2])
def test_services_repeat_no_rule_number_outside_the_policy_module(value):
    """Outside ``services/policy.py`` no service, view or configuration writes a rule's number (14 and 30
    are left out: a new round's two-week window and a deadline event's 30 minutes are no rules)."""
    skip = {"services/policy.py"}
    hits = [
        f"{path}:{line}"
        for path, text in _sources().items()
        if path.startswith(("services/", "web/")) or path == "config.py"
        if path not in skip and path != CHARTS
        for number, line in _numbers(text)
        if number == value
    ]
    assert hits == []


def test_keyword_defaults_of_the_statistics_library_use_the_named_constants():
    """Per-function defaults (lam=, L=, min_anchors=, min_scores=, min_drop=, min_alpha=) name the
    constant instead of repeating the number."""
    pattern = re.compile(
        r"\b(lam|L|min_anchors|min_scores|min_drop|min_alpha|max_drop)\s*:\s*\w+(\s*\|\s*None)?\s*=\s*[0-9]"
    )
    hits = [
        f"{path}: {m.group(0)}"
        for path, text in _sources().items()
        if path.startswith("stats/")
        for m in pattern.finditer(text)
    ]
    assert hits == []


def test_default_exact_minimum_follows_the_scale_length():
    """DESIGN §6: 70% exact for 4-6 levels, 80% for 3 and 90% for 2; the rest of the rule is shared."""
    settings = ProgramSettings()
    assert settings.pass_rule_for(None) == settings.pass_rule
    assert settings.pass_rule_for(4).min_exact == 0.70
    assert settings.pass_rule_for(6).min_exact == 0.70
    assert settings.pass_rule_for(3).min_exact == 0.80
    assert settings.pass_rule_for(2).min_exact == 0.90
    assert settings.pass_rule_for(2).min_adjacent == settings.pass_rule.min_adjacent
    assert json.loads(settings.pass_rule_json(2))["min_exact"] == 0.90
    assert "min_exact_2_levels" not in json.loads(settings.pass_rule_json(2))


def test_a_program_sets_its_own_short_scale_minimums_and_they_round_trip():
    stored = {"pass_rule": {"min_exact": 0.75, "min_exact_2_levels": 0.95, "min_exact_3_levels": 0.85}}
    settings = ProgramSettings.from_json(json.dumps(stored))
    assert settings.pass_rule_for(5).min_exact == 0.75
    assert settings.pass_rule_for(3).min_exact == 0.85
    assert settings.pass_rule_for(2).min_exact == 0.95
    assert settings.pass_rule_extra == {}
    assert ProgramSettings.from_json(settings.to_json()) == settings
    with pytest.raises(InvalidInput) as caught:
        ProgramSettings.from_json(json.dumps({"pass_rule": {"min_exact_2_levels": 2}}))
    assert "between 0 and 1" in caught.value.field_errors["pass_rule.min_exact_2_levels"][0]


def test_the_short_scale_defaults_are_written_once_in_the_statistics_library():
    sources = _sources()
    for name, literal in (("MIN_EXACT_3_LEVELS", "0.80"), ("MIN_EXACT_2_LEVELS", "0.90")):
        assigned = [p for p, t in sources.items() if re.search(rf"^{name} = {re.escape(literal)}$", t, re.M)]
        assert assigned == ["stats/passrule.py"], (name, assigned)
