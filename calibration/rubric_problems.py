"""How the rubric loader reports a problem: :class:`RubricFileError` (file, field, problem, in words a
lead trainer can act on), :class:`RubricDirError` for a directory, and the small helpers that name
fields, characters, types and values. Part of the rubric loader (:mod:`calibration.rubrics`):
imports only the standard library.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

#: The ``field`` of problems with the file as a whole (encoding, size, YAML syntax, not a rubric).
FILE_FIELD = "(file)"
FieldPath = tuple[str | int, ...]
# --------------------------------------------------------------------------------------------------
# Errors


class RubricFileError(ValueError):
    """A rubric file (or stored snapshot) that cannot be used; ``str()`` is ``"<file>: <field>: <problem>"``.

    ``field`` is a readable path such as ``criteria[2].descriptors.3`` (list positions count from 0), or
    ``(file)`` for problems with the file as a whole.
    """

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.field, self.problem))


class RubricDirError(RubricFileError):
    """Several files of a directory failed; ``file``/``field``/``problem`` are the first, ``errors`` all.

    ``str()`` lists every problem, one ``"<file>: <field>: <problem>"`` per line.
    """

    def __init__(self, errors: Iterable[RubricFileError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.file, first.field, first.problem)
        self.args = ("\n".join(str(error) for error in self.errors),)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))


# --------------------------------------------------------------------------------------------------
# Small helpers


def _format_field(path: FieldPath) -> str:
    """("criteria", 2, "descriptors", "3") -> "criteria[2].descriptors.3"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or FILE_FIELD


def _line_of(path: FieldPath, lines: dict[FieldPath, int]) -> int:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _char_name(char: str) -> str:
    code = f"U+{ord(char):04X}" if len(char) == 1 else repr(char)
    if char == "\x00":
        return f"a NUL character ({code})"
    if len(char) == 1 and unicodedata.category(char) == "Cc":
        return f"a control character ({code})"
    return f"a character that is not allowed ({code})"


def _reader_char(character: int | str) -> str:
    """PyYAML's ReaderError gives the offending character as a code point for text input."""
    return chr(character) if isinstance(character, int) else character


def _expected(types: str | list[str], path: FieldPath) -> str:
    if path and path[-1] == "descriptors":
        return 'one descriptor per level, written as "level: text" lines'
    words = {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "array": "a list",
        "object": 'a set of "name: value" fields',
        "boolean": "true or false",
    }
    if isinstance(types, str):
        types = [types]
    return " or ".join(words.get(t, t) for t in types)


def _describe(value: Any) -> str:
    """A value as a lead trainer would name it."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f'the text "{shown}"'
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return 'a set of "name: value" fields'
    if isinstance(value, bytes):
        return "binary data"
    return f"a {type(value).__name__} value"
