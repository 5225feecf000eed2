from __future__ import annotations

import pytest

from phonewarden.fraud.cdr import CdrRowError, LocalTimeParser
from phonewarden.fraud.readers_csv import AsteriskCsv, KamailioAcc, endpoint_of, parse_kamailio_syslog

BASE = [
    "",
    "1001",
    "0301234",
    "ctx",
    "clid",
    "SIP/1001-0000000a",
    "",
    "Dial",
    "",
    "2026-01-15 12:00:00",
    "2026-01-15 12:00:05",
    "2026-01-15 12:01:05",
    "65",
    "60",
    "ANSWERED",
    "DOCUMENTATION",
]


def test_asterisk_21_columns_and_unanswered() -> None:
    reader = AsteriskCsv(LocalTimeParser())
    cdr = reader.convert([*BASE, "1768478400.1", "", "peer", "1768478400.1", "3"])
    assert cdr is not None and (cdr.account, cdr.billsec, cdr.call_id) == ("SIP/1001", 60.0, "1768478400.1")
    busy = reader.convert([*BASE[:14], "BUSY", "DOCUMENTATION"])
    assert busy is not None and busy.billsec == 0.0
    with pytest.raises(CdrRowError, match=r"19 columns, Asterisk Master\.csv has 16, 17, 18 or 21"):
        reader.convert([*BASE, "a", "b", "c"])


def test_endpoint_of_channel() -> None:
    assert endpoint_of("PJSIP/alice-00000012") == "PJSIP/alice"
    assert endpoint_of("Local/100@ctx-0001;1") == "Local/100@ctx"


def test_kamailio_pairing_is_bounded_and_needs_extra_fields() -> None:
    pairer = KamailioAcc("src_user", "dst_user")
    invite = {"method": "INVITE", "callid": "x", "sip_code": "200", "time": "1768478400", "src_user": "a"}
    assert pairer.from_fields(invite) is None and pairer.unfinished == 1
    bye = pairer.from_fields({"method": "BYE", "callid": "x", "time": "1768478460"})
    assert bye is not None and bye.billsec == 60.0 and pairer.unfinished == 0
    with pytest.raises(CdrRowError, match="no 'src_user'"):
        pairer.from_fields({"method": "INVITE", "callid": "y", "sip_code": "404", "time": "1768478400"})


def test_syslog_line_needs_marker() -> None:
    assert parse_kamailio_syslog("x ACC: transaction answered: method=BYE;callid=1")["callid"] == "1"
    with pytest.raises(CdrRowError, match="no 'ACC:' marker"):
        parse_kamailio_syslog("kamailio: something else")


def test_asterisk_fast_path_equals_the_checked_path() -> None:
    converter = AsteriskCsv(LocalTimeParser("UTC"))
    row = [
        "acme",
        "100",
        "0030123",
        "ctx",
        "",
        "PJSIP/100-1",
        "PJSIP/t-2",
        "Dial",
        "",
        "2026-01-05 00:04:42",
        "2026-01-05 00:04:47",
        "2026-01-05 00:06:54",
        "132",
        "127",
        "ANSWERED",
        "DOCUMENTATION",
    ]
    assert converter.convert(row) == converter._checked(row)
    for column, value, field in ((12, "-5", "duration"), (13, "1e9", "billsec"), (13, "x", "billsec")):
        bad = list(row)
        bad[column] = value
        with pytest.raises(CdrRowError, match=field):
            converter.convert(bad)
