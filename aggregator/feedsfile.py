"""Edit the `sources:` list of feeds.yaml as text, so that every byte outside the source added or
removed stays as the editor wrote it (comments, order, quoting, blank lines).

ruamel.yaml finds where things are; the edit itself is a splice of lines, and the result is
validated by the same loader as `run` before anyone writes it.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aggregator.config import Config, ConfigError, parse_config
from aggregator.publish.atomic import write_atomic

FIELD_ORDER = ("name", "url", "type", "homepage", "language", "category", "own")


class EditError(Exception):
    """feeds.yaml cannot be edited as asked; the message says why and what to do."""


@dataclass(frozen=True)
class _Item:
    name: str | None
    first: int  # 0-based line of its "- "
    last: int  # 0-based line of its last line (indented comments included)


@dataclass(frozen=True)
class _Layout:
    """Where the sources list sits in the file and how its items are indented."""

    items: list[_Item]
    dash: int  # column of "-"
    key: int  # column of an item's keys
    node: Node | None  # the value of `sources:` (None: no such key)
    row: int = 0  # 0-based line of the `sources:` key


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML 1.2 scalar


def source_text(fields: dict[str, object], dash: int = 2, key: int = 4) -> list[str]:
    """The lines of one source as a block list item, keys in the usual order."""
    ordered = sorted(fields, key=lambda k: FIELD_ORDER.index(k) if k in FIELD_ORDER else 99)
    lines = []
    for i, name in enumerate(ordered):
        lead = " " * dash + "- " + " " * (key - dash - 2) if i == 0 else " " * key
        lines.append(f"{lead}{name}: {_scalar(fields[name])}\n")
    return lines


def _lines(text: str) -> list[str]:
    """The file's lines as YAML counts them (only LF and CRLF end one, not U+2028 or a form
    feed inside a title), each with its line end."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _layout(text: str) -> _Layout:
    root = YAML(typ="safe", pure=True).compose(text)
    if root is None:  # an empty file
        return _Layout([], 2, 4, None)
    if not isinstance(root, MappingNode):
        raise EditError("the top level of the file is not a mapping")
    key_node, value = next(
        ((k, v) for k, v in root.value if isinstance(k, ScalarNode) and k.value == "sources"),
        (None, None),
    )
    if key_node is None or value is None:
        return _Layout([], 2, 4, None)
    row = key_node.start_mark.line
    if isinstance(value, ScalarNode) and value.value in ("", "~", "null"):
        return _Layout([], 2, 4, value, row)  # `sources:` with nothing under it
    if not isinstance(value, SequenceNode):
        raise EditError("`sources:` is not a list")
    if value.flow_style and value.value:
        raise EditError("`sources:` is written as a [...] list; edit it by hand")
    lines = _lines(text)
    items: list[_Item] = []
    dash, key = 2, 4
    for node in value.value:
        if not isinstance(node, MappingNode) or node.flow_style:
            raise EditError("a source is not written as a block mapping; edit it by hand")
        first, key = node.start_mark.line, node.start_mark.column
        dash = lines[first].index("-") if "-" in lines[first][:key] else max(key - 2, 0)
        name = next(
            (v.value for k, v in node.value if k.value == "name" and isinstance(v, ScalarNode)),
            None,
        )
        items.append(_Item(name, first, first))
    ends = [item.first for item in items[1:]] + [value.end_mark.line + 1] if items else []
    for i, (item, end) in enumerate(zip(items, ends, strict=True)):
        last = item.first
        for n in range(item.first + 1, min(end, len(lines))):
            stripped = lines[n].strip()
            if not stripped or (stripped.startswith("#") and _indent(lines[n]) < key):
                continue  # blank, or a comment that belongs to what follows
            if _indent(lines[n]) < key:
                break  # the next key of the file
            last = n
        items[i] = _Item(item.name, item.first, last)
    return _Layout(items, dash, key, value, row)


def _validated(text: str, path: Path) -> Config:
    try:
        return parse_config(text, path)
    except ConfigError as exc:
        raise EditError(f"the edited file would not be valid:\n{exc}") from None


def add_sources(text: str, sources: list[dict[str, object]], path: Path) -> tuple[str, Config]:
    """`text` with `sources` appended after the last source; every other line unchanged."""
    layout = _layout(text)
    lines = _lines(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new = [line for fields in sources for line in source_text(fields, layout.dash, layout.key)]
    if layout.items:
        at = layout.items[-1].last + 1
        edited = lines[:at] + new + lines[at:]
    elif layout.node is None:
        edited = lines + ["sources:\n"] + new
    else:  # `sources: []`, or `sources:` with nothing under it
        node, row = layout.node, layout.row
        line = lines[row]
        if isinstance(node, SequenceNode):  # drop the "[]", keep a comment after it
            rest = line[node.end_mark.column :].strip()
            line = line[: node.start_mark.column].rstrip() + (f"  {rest}" if rest else "") + "\n"
        edited = [*lines[:row], line, *new, *lines[row + 1 :]]
    result = "".join(edited)
    return result, _validated(result, path)


def add_source(text: str, fields: dict[str, object], path: Path) -> tuple[str, Config]:
    """`text` with one more source after the last one; every other line unchanged."""
    return add_sources(text, [fields], path)


def remove_source(text: str, name: str, path: Path) -> tuple[str, Config]:
    """`text` without the source named `name`; the comment lines before the next source stay."""
    layout = _layout(text)
    item = next((i for i in layout.items if i.name == name), None)
    if item is None:
        raise EditError(f"no source named {name!r}")
    lines = _lines(text)
    result = "".join(lines[: item.first] + lines[item.last + 1 :])
    return result, _validated(result, path)


def write_config(path: Path, text: str) -> None:
    """Replace feeds.yaml atomically (a running daemon reads the old file or the new one),
    keeping its permissions."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    write_atomic(path, text.encode("utf-8"))
    if mode is not None:
        os.chmod(path, mode)
