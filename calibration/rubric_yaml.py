"""Strict YAML reading for rubric files: one document into plain data plus the line of every
field, refusing what a rubric file never needs (aliases, merge keys, custom tags, non-text field
names, duplicate keys) and nesting deep enough to stall PyYAML. Part of the rubric loader
(:mod:`calibration.rubrics`): imports only the standard library and PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

from calibration.rubric_problems import (
    FILE_FIELD,
    FieldPath,
    RubricFileError,
    _char_name,
    _describe,
    _format_field,
    _reader_char,
)

_MAX_DEPTH = 16  # a rubric nests four deep; anything far deeper is not a rubric
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# --------------------------------------------------------------------------------------------------
# YAML reading


class _NestedTooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(mark)
        self.mark = mark


class _RubricLoader(yaml.SafeLoader):
    """SafeLoader that keeps yes/no/on/off/true/false and dates as text (no rubric field is either), and
    stops at deep nesting while scanning: PyYAML's scanner is quadratic in flow depth ("[[[[..."), and its
    composer recursive, so 256 KiB of brackets would otherwise take hours."""

    def fetch_flow_collection_start(self, TokenClass: type) -> None:
        if self.flow_level >= _MAX_DEPTH:
            raise _NestedTooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= _MAX_DEPTH:
            raise _NestedTooDeep(self.get_mark())
        return super().add_indent(column)


_RubricLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith((":bool", ":timestamp"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(text: str, source: str) -> tuple[Any, dict[FieldPath, int]]:
    """Parse one YAML document into plain data plus the line of every field (for ordering problems)."""
    lines: dict[FieldPath, int] = {}
    loader = None
    try:
        loader = _RubricLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None, lines
        return _YamlBuilder(loader, source, lines).build(root, (), 0), lines
    except yaml.MarkedYAMLError as exc:
        raise RubricFileError(source, FILE_FIELD, _yaml_syntax_problem(exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise RubricFileError(
            source,
            FILE_FIELD,
            f"contains {_char_name(_reader_char(exc.character))} at line {line}, column {column}; "
            "only tabs and line breaks are allowed",
        ) from None
    except yaml.YAMLError as exc:
        raise RubricFileError(source, FILE_FIELD, f"is not valid YAML ({exc})") from None
    except _NestedTooDeep as exc:
        raise RubricFileError(
            source,
            FILE_FIELD,
            f"is nested too deeply to be a rubric (line {exc.mark.line + 1}, column {exc.mark.column + 1})",
        ) from None
    except RecursionError:  # a backstop: the scanner limits above come first
        raise RubricFileError(source, FILE_FIELD, "is nested too deeply to be a rubric") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_syntax_problem(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context})" if exc.context else ""
    if isinstance(exc, yaml.constructor.ConstructorError):  # parsed, but e.g. a !!python/... tag
        return f"uses YAML that rubric files do not support{where}: {problem}{context}"
    return f"YAML syntax error{where}: {problem}{context}"


class _YamlBuilder:
    """Turn the composed YAML node tree into plain data, refusing what a rubric file never needs."""

    def __init__(self, loader: _RubricLoader, source: str, lines: dict[FieldPath, int]) -> None:
        self.loader = loader
        self.source = source
        self.lines = lines
        self.seen: set[int] = set()

    def fail(self, path: FieldPath, problem: str) -> RubricFileError:
        return RubricFileError(self.source, _format_field(path), problem)

    def build(self, node: yaml.Node, path: FieldPath, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(path, "is nested too deeply to be part of a rubric")
        if id(node) in self.seen:  # the composer hands back the same node for every *alias
            raise self.fail(path, "uses a YAML alias (*name); write the value out in full instead")
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self.fail(path, f"uses the YAML tag {node.tag}, which rubric files do not support")
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self.fail(path, f"uses the YAML tag {node.tag}, which rubric files do not support")
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index), depth + 1))
            return items
        return self.loader.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                raise self.fail(
                    path, f"uses a YAML merge key (<<) at line {line}; write the fields out instead"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(path, f"has a field name at line {line} that is not plain text")
            key = self.loader.construct_object(key_node)
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(key)  # descriptor keys: `3:` and `"3":` are the same level
            if not isinstance(key, str):
                raise self.fail(path, f"has a field name at line {line} that is not text ({_describe(key)})")
            child = (*path, key)
            if key in result:
                raise self.fail(child, f"appears twice (lines {self.lines[child]} and {line}); keep one")
            self.lines[child] = line
            result[key] = self.build(value_node, child, depth + 1)
        return result
