from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.config_xml import parse_xml_entries
from phonewarden.audit.configs import ConfigError


def test_entries_keep_lines_and_list_keys() -> None:
    text = (
        "<r>\n<list>\n<e><ID>SIP1</ID><Transport>3</Transport></e>\n</list>\n"
        '<item name="a.b"><value>v</value></item></r>'
    )
    root, entries = parse_xml_entries(Path("f.xml"), text)
    assert root == "r"
    transport = next(e for e in entries if e.path[-1] == "Transport")
    assert transport.keyed_path == ("r", "list", "SIP1", "Transport") and transport.line == 3
    value = next(e for e in entries if e.path[-1] == "value")
    assert value.parent_name == "a.b" and value.text == "v"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_never_escape_as_other_errors(data: bytes) -> None:
    text = data.decode("latin-1")
    try:
        parse_xml_entries(Path("f.xml"), text)
    except ConfigError as exc:
        assert str(exc).startswith("f.xml")
