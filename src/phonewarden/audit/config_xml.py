"""XML config files flattened into entries that keep their line numbers (for "the line to change")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat


@dataclass(frozen=True)
class XmlEntry:
    path: tuple[str, ...]  # element names from the root
    keyed_path: tuple[str, ...]  # the same, list entries replaced by their <Name> or <ID> child
    attributes: dict[str, str]
    text: str
    line: int
    parent_name: str | None  # the `name` attribute of the parent (Grandstream config v2 items)
    is_leaf: bool


def _build_tree(text: str) -> tuple[ET.Element, dict[int, int]]:
    """Parse with expat directly: it reports the line of each start tag, ElementTree does not."""
    parser = expat.ParserCreate()
    stack: list[ET.Element] = []
    lines: dict[int, int] = {}
    roots: list[ET.Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = ET.Element(tag, attrs)
        element.text = ""
        lines[id(element)] = parser.CurrentLineNumber
        (stack[-1].append(element) if stack else roots.append(element))
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def data(chunk: str) -> None:
        if stack:
            stack[-1].text = (stack[-1].text or "") + chunk

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.Parse(text, True)
    return roots[0], lines


def parse_xml_entries(path: Path, text: str) -> tuple[str, list[XmlEntry]]:
    """The root tag and every element as an entry; ConfigError (from configs) on malformed XML."""
    from phonewarden.audit.configs import ConfigError

    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ConfigError(
            f"{path}: XML with a DOCTYPE/ENTITY declaration is refused (phone configs have none)"
        )
    try:
        root, lines = _build_tree(text)
    except expat.ExpatError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}: malformed XML at column {exc.offset}: {expat.ErrorString(exc.code)}"
        ) from None
    entries: list[XmlEntry] = []
    _walk(root, (), (), None, lines, entries)
    return root.tag, entries


def _entry_key(element: ET.Element) -> str | None:
    for child_name in ("Name", "ID"):
        child = element.find(child_name)
        if child is not None and child.text and child.text.strip() and len(element) > 1:
            return child.text.strip()
    return None


def _walk(
    element: ET.Element,
    path: tuple[str, ...],
    keyed: tuple[str, ...],
    parent_name: str | None,
    lines: dict[int, int],
    out: list[XmlEntry],
) -> None:
    path = (*path, element.tag)
    key = _entry_key(element)
    keyed = (*keyed, key if key is not None else element.tag)
    out.append(
        XmlEntry(
            path=path,
            keyed_path=keyed,
            attributes=dict(element.attrib),
            text=(element.text or "") if len(element) == 0 else "",
            line=lines.get(id(element), 0),
            parent_name=parent_name,
            is_leaf=len(element) == 0,
        )
    )
    for child in element:
        _walk(child, path, keyed, element.attrib.get("name"), lines, out)
