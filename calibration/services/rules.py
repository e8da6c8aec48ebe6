"""The rules in force and their default numbers (DESIGN §6). Stored with each round and flag."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from ..stats.passrule import PassRule

# Field names match calibration.stats.passrule.PassRule.
DEFAULT_PASS_RULE: dict[str, float | int] = {
    "min_exact": 0.70,
    "min_adjacent": 0.95,
    "max_discrepant": 1,
    "min_decision": 0.90,
    "min_anchors": 5,
    "min_scores": 20,
}

DEFAULT_PROGRAM_SETTINGS: dict[str, Any] = {
    "pass_rule": DEFAULT_PASS_RULE,
    "certification_days": 365,
    "reminder_days_before_expiry": 30,
    "recalibration_window_days": 14,
}


def program_settings(settings_json: str | None) -> dict[str, Any]:
    """Program settings over the defaults (unknown keys kept, missing keys defaulted)."""
    stored = json.loads(settings_json or "{}")
    merged = {**DEFAULT_PROGRAM_SETTINGS, **stored}
    merged["pass_rule"] = {**DEFAULT_PASS_RULE, **stored.get("pass_rule", {})}
    return merged


def pass_rule_json(settings_json: str | None) -> str:
    return json.dumps(program_settings(settings_json)["pass_rule"], sort_keys=True)


def pass_rule_from_json(rule_json: str) -> PassRule:
    """The rule stored with a round, as the statistics library's PassRule (unknown keys ignored)."""
    stored = {**DEFAULT_PASS_RULE, **json.loads(rule_json or "{}")}
    names = {f.name for f in fields(PassRule)}
    return PassRule(**{k: v for k, v in stored.items() if k in names})
