from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.configs import ConfigError, parse_config_text, read_config
from phonewarden.audit.policy import Vendor
from tests.audit.conftest import DATA


def test_yealink_null_static_and_line_numbers() -> None:
    config = parse_config_text(
        Path("y.cfg"), "#!version:1.0.0.1\n# c\nstatic.wui.http_enable = %NULL%\nsip.trust_ctrl=1\n"
    )
    assert config.vendor is Vendor.YEALINK
    assert config.values == {"static.wui.http_enable": "", "sip.trust_ctrl": "1"}
    assert config.get("wui.http_enable") == "" and config.where("static.wui.http_enable") == "y.cfg:3"


def test_snom_xml_indexes_and_text_form() -> None:
    xml = read_config(DATA / "snom" / "insecure.xml")
    assert xml.vendor is Vendor.SNOM and xml.values["user_pass1"] == "1234" and xml.lines["user_pass1"] == 7
    text = read_config(DATA / "snom" / "snomD785.htm")
    assert text.values["user_host1"] == "pbx.example.test" and text.values["admin_mode_password"] == "0000"


def test_grandstream_v1_v2_and_plain_p_values() -> None:
    v1 = read_config(DATA / "grandstream" / "cfg000b82aabbcc.xml")
    assert v1.values["P2"] == "admin" and v1.values["mac"] == "000b82aabbcc"
    v2 = read_config(DATA / "grandstream" / "cfg-v2.xml")
    assert v2.values["P130"] == "2" and v2.values["account.1.sip.transport"] == "TlsOrTcp"
    plain = parse_config_text(Path("cfg.txt"), "P2 = admin\nP130=0\n")
    assert plain.vendor is Vendor.GRANDSTREAM and plain.values == {"P2": "admin", "P130": "0"}


def test_poly_attributes_and_fanvil_list_entries() -> None:
    poly = read_config(DATA / "poly" / "000000000000.cfg")
    assert poly.values["reg.1.server.1.transport"] == "TLS"
    fanvil = read_config(DATA / "fanvil" / "0c383e07e16c.xml")
    assert fanvil.values["MMI_CONFIG_MODULE.MMI_Account.admin.Password"] == "admin"
    assert fanvil.values["SIP_CONFIG_MODULE.SIP_Line_List.SIP1.Transport"] == "0"


def test_unknown_vendor_names_file_and_known_vendors() -> None:
    with pytest.raises(
        ConfigError, match=r"notes\.txt: not a config of a known vendor \(known: yealink, snom"
    ):
        read_config(DATA / "unknown" / "notes.txt")
    with pytest.raises(ConfigError, match=r"XML root <device>"):
        read_config(DATA / "unknown" / "SEP001122334455.cnf.xml")


def test_bad_input_errors_name_the_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"y\.cfg:3: not a `key = value` line"):
        parse_config_text(Path("y.cfg"), "#!version:1.0.0.1\naccount.1.enable = 1\nthis is junk\n")
    with pytest.raises(ConfigError, match=r"x\.xml:2: malformed XML"):
        parse_config_text(Path("x.xml"), "<settings>\n<a></settings>")
    with pytest.raises(ConfigError, match="DOCTYPE"):
        parse_config_text(Path("x.xml"), '<!DOCTYPE x [<!ENTITY a "b">]><settings/>')
    binary = tmp_path / "enc.cfg"
    binary.write_bytes(b"\x8f\xff\x00encrypted")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_config(binary)
    with pytest.raises(ConfigError, match="cannot read"):
        read_config(tmp_path / "missing.cfg")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_any_text_is_a_config_or_a_config_error(text: str) -> None:
    try:
        config = parse_config_text(Path("f.cfg"), text)
    except ConfigError as exc:
        assert "f.cfg" in str(exc)
    else:
        assert all(isinstance(v, str) for v in config.values.values())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True), st.text(max_size=30), max_size=8))
def test_fuzz_snom_xml_round_trip(values: dict[str, str]) -> None:
    from xml.sax.saxutils import escape

    clean = {k: "".join(c for c in v if c.isprintable()).strip() for k, v in values.items()}
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in clean.items())
    config = parse_config_text(Path("s.xml"), f"<settings><phone-settings>{body}</phone-settings></settings>")
    assert config.values == clean
