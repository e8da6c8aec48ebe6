"""Common passwords: the 30,000 most frequent passwords from leaked password sets, as shipped by
the maintained ``zxcvbn`` package (its ``passwords`` frequency list, pinned in ``constraints.txt``).

A new password is refused when it is on the list, or is a listed password followed only by digits
and symbols (``summer2024!``), whatever its letter case: these are what attackers try first.
"""

from __future__ import annotations

import re
from functools import cache

# Digits, punctuation and spaces tacked onto the end of a word ("dragon123!").
_TRAILING = re.compile(r"[\d\W_]+$")
_MIN_STEM = 4


@cache
def _listed() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # about 1 MB: loaded on first use only

    return frozenset(FREQUENCY_LISTS["passwords"])


def list_size() -> int:
    return len(_listed())


def is_common(password: str) -> bool:
    """True when ``password`` is a common password (case-insensitive) or one followed by digits and
    symbols only."""
    lowered = password.strip().lower()
    listed = _listed()
    if lowered in listed:
        return True
    stem = _TRAILING.sub("", lowered)
    return stem != lowered and len(stem) >= _MIN_STEM and stem in listed
