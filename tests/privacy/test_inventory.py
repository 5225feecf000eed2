from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.inventory import InventoryError, load_inventory, parse_inventory

PHONE = {"name": "p", "kind": "smartphone", "ip": "198.51.100.7", "imei": ["35-209900-176148-1"],
         "imsi": "460031234567898", "iccid": "89860318640220133897", "mac": "4C-BC-98-12-34-56"}  # fmt: skip


def test_json_and_toml_give_the_same_devices(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps([PHONE]))
    (tmp_path / "d.toml").write_text(
        '[[device]]\nname = "p"\nkind = "smartphone"\nip = "198.51.100.7"\nimei = ["35-209900-176148-1"]\n'
        'imsi = "460031234567898"\niccid = "89860318640220133897"\nmac = "4C-BC-98-12-34-56"\n'
    )
    from_json, from_toml = load_inventory(tmp_path / "d.json"), load_inventory(tmp_path / "d.toml")
    assert from_json == from_toml
    assert from_json[0].identifiers["imei"] == ["352099001761481"]
    assert from_json[0].identifiers["mac"] == ["4c:bc:98:12:34:56"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"imei": "352099001761482"}, "field 'imei'"),
        ({"iccid": "1234567890123456789"}, "field 'iccid'"),
        ({"mac": "zz:00"}, "field 'mac'"),
        ({"ip": "999.1.1.1"}, "field 'ip'"),
        ({"colour": "red"}, "unknown field"),
        ({"name": ""}, "'name' is required"),
    ],
)
def test_bad_entries_name_entry_and_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InventoryError, match="device #2") as error:
        parse_inventory([{"name": "ok", "ip": "198.51.100.1"}, {**PHONE, **change}], "inv.json")
    assert message in str(error.value)


def test_device_needs_ip_or_mac_and_unique_names() -> None:
    with pytest.raises(InventoryError, match="give 'ip' or 'mac'"):
        parse_inventory([{"name": "x", "imei": "352099001761481"}], "f")
    with pytest.raises(InventoryError, match="appears twice"):
        parse_inventory([{"name": "x", "ip": "198.51.100.1"}, {"name": "x", "ip": "198.51.100.2"}], "f")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("[{")
    with pytest.raises(InventoryError, match="not valid JSON"):
        load_inventory(tmp_path / "bad.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(["name", "kind", "ip", "mac", "imei", "imsi", "iccid", "msisdn", "serial", "x"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(fields, json_values, max_size=5), max_size=3) | json_values)
def test_fuzz_only_inventory_errors(document: Any) -> None:
    try:
        parse_inventory(document, "fuzz")
    except InventoryError as error:
        assert str(error).startswith("fuzz")


def test_msisdn_is_kept_in_international_form_whatever_its_prefix() -> None:
    for text in ("+49 151 12345678", "0049-151-12345678", "4915112345678"):
        [device] = parse_inventory([{"name": "p", "ip": "198.51.100.7", "msisdn": text}], "t")
        assert device.identifiers["msisdn"] == ["4915112345678"]
