"""The rules in force as plain dicts, for code that stores them (each round's ``pass_rule_json``).

The rules and their default numbers live in :mod:`calibration.services.policy`; this module only
derives the stored shapes from there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from ..stats._types import LevelOfMeasurement
from .policy import PassRule, ProgramSettings

# Field names match calibration.stats.passrule.PassRule.
DEFAULT_PASS_RULE: dict[str, float | int] = asdict(PassRule())

DEFAULT_PROGRAM_SETTINGS: dict[str, Any] = ProgramSettings().as_dict()

#: The levels of measurement a rubric version can store (the rubric schema allows no others).
LEVELS_OF_MEASUREMENT: tuple[LevelOfMeasurement, ...] = ("nominal", "ordinal", "interval", "ratio")


def program_settings(settings_json: str | None) -> dict[str, Any]:
    """Program settings over the defaults (unknown keys kept, missing keys defaulted)."""
    return ProgramSettings.from_json(settings_json).as_dict()


def pass_rule_json(settings_json: str | None, n_levels: int | None = None) -> str:
    """The program's rule as stored with a round of a rubric of ``n_levels`` levels."""
    return ProgramSettings.from_json(settings_json).pass_rule_json(n_levels)


def pass_rule_from_json(rule_json: str) -> PassRule:
    """The rule stored with a round, as the statistics library's PassRule (unknown keys ignored)."""
    stored = json.loads(rule_json or "{}")
    names = {f.name for f in fields(PassRule)}
    return PassRule(**{k: v for k, v in stored.items() if k in names})


def level_of_measurement(stored: str) -> LevelOfMeasurement:
    """A rubric version's stored level of measurement, as the statistics take it.

    Raises the ValueError the statistics would raise for a value that is none of the four.
    """
    for level in LEVELS_OF_MEASUREMENT:
        if stored == level:
            return level
    raise ValueError(f"level_of_measurement must be one of {LEVELS_OF_MEASUREMENT}, got {stored!r}")
