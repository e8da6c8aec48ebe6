"""The rules in force and their default numbers (DESIGN §6). Stored with each round and flag."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_PASS_RULE: dict[str, float | int] = {
    "exact_min": 0.70,
    "adjacent_min": 0.95,
    "max_discrepant": 1,
    "decision_min": 0.90,
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
