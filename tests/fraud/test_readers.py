from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.fraud.cdr import CdrFormatError, CdrRowError
from phonewarden.fraud.readers import ReadReport, detect_format, read_cdrs
from phonewarden.fraud.settings import FraudSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "fraud"


def _read(name: str, **overrides: object) -> tuple[list, ReadReport]:  # type: ignore[type-arg]
    report = ReadReport()
    cdrs = list(read_cdrs(DATA / name, FraudSettings(**overrides), report))  # type: ignore[arg-type]
    return cdrs, report


def test_asterisk_18_columns_with_bad_row_reported_by_line() -> None:
    cdrs, report = _read("asterisk-18.csv")
    assert report.formats[str(DATA / "asterisk-18.csv")] == "asterisk"
    assert [(c.account, c.destination, c.billsec) for c in cdrs] == [
        ("acme", "004930123456", 600.0),
        ("PJSIP/1002", "0088212345678", 0.0),  # empty accountcode: the calling endpoint
    ]
    assert cdrs[0].end - cdrs[0].start == 605
    assert report.bad_rows == 1 and report.errors[0].startswith(
        f"{DATA / 'asterisk-18.csv'}:3: time 'not a time'"
    )


def test_asterisk_local_time_zone_is_applied() -> None:
    utc, _ = _read("asterisk-18.csv")
    berlin, _ = _read("asterisk-18.csv", cdr_timezone="Europe/Berlin")
    assert utc[0].start - berlin[0].start == 3600


def test_freeswitch_csv_and_json() -> None:
    cdrs, _ = _read("freeswitch.csv")
    assert [(c.account, c.destination, c.billsec, c.call_id) for c in cdrs] == [
        ("acme", "0044207946000", 300.0, "8f1c9b7e-1"),
        ("1002", "0053712345", 0.0, "8f1c9b7e-3"),
    ]
    (document,), report = _read("freeswitch.json")
    assert report.formats[str(DATA / "freeswitch.json")] == "freeswitch-json"
    assert (document.account, document.destination, document.billsec) == ("acme", "0025261234567", 600.0)
    assert document.source_ip == "198.51.100.20"


def test_kamailio_acc_pairs_invite_and_bye() -> None:
    cdrs, _ = _read("kamailio-acc.log")
    assert [(c.account, c.destination, c.billsec, c.call_id) for c in cdrs] == [
        ("1002", "030123456", 0.0, "k2@pbx"),
        ("1001", "0033142685300", 120.0, "k1@pbx"),
    ]


def test_generic_csv_with_mapping_and_missing_account() -> None:
    mapping = {"account": "customer", "destination": "called", "end": "hangup", "billsec": "seconds"}
    cdrs, report = _read("generic.csv", generic_fields=mapping)
    assert [(c.account, c.destination, c.end) for c in cdrs] == [
        ("acme", "+4930123456", 1772452800.0),
        ("acme", "+882123", 1772452900.0),
    ]
    assert report.errors == [f"{DATA / 'generic.csv'}:4: account is empty"]
    with pytest.raises(CdrFormatError, match=r"generic.csv:1: header lacks \['account'"):
        _read("generic.csv")


def test_unknown_format_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CdrFormatError, match=r"x.csv:1: header lacks"):
        _read_path(path)


def _read_path(path: Path) -> list:  # type: ignore[type-arg]
    return list(read_cdrs(path, FraudSettings(), ReadReport()))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_detect_and_read_never_crash(text: str) -> None:
    import io

    from phonewarden.fraud.readers import read_text

    try:
        fmt = detect_format(text)
    except CdrFormatError:
        return
    report = ReadReport()
    try:
        list(read_text(io.StringIO(text), "fuzz", fmt, FraudSettings(), report))
    except CdrFormatError:
        return
    assert report.cdrs + report.bad_rows <= max(report.rows, 1) + text.count("\n") + 1


def test_pretty_printed_json_and_json_lines_with_a_bad_line(tmp_path: Path) -> None:
    import json

    document = json.loads((DATA / "freeswitch.json").read_text())
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(document, indent=2))
    assert [c.account for c in _read_path(pretty)] == ["acme"]
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(document) + "\n{broken\n" + json.dumps(document) + "\n")
    report = ReadReport()
    assert len(list(read_cdrs(lines, FraudSettings(), report))) == 2
    assert report.errors[0].startswith(f"{lines}:2: not JSON")


def test_kamailio_acc_csv_export_with_header(tmp_path: Path) -> None:
    path = tmp_path / "acc.csv"
    path.write_text(
        "time,method,callid,sip_code,sip_reason,src_user,dst_user\n"
        "1772449200,INVITE,c1,200,OK,1001,0033142685300\n1772449290,BYE,c1,200,OK,1001,0033142685300\n"
    )
    (cdr,) = _read_path(path)
    assert (cdr.account, cdr.billsec) == ("1001", 90.0)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("asterisk-18.csv", "asterisk"),
        ("asterisk-cel.csv", "asterisk-cel"),
        ("kamailio-acc.log", "kamailio-acc"),
        ("freeswitch.csv", "freeswitch-csv"),
        ("generic.csv", "generic-csv"),
    ],
)
def test_line_reader_gives_what_the_file_reader_gives(name: str, fmt: str) -> None:
    from phonewarden.fraud.readers import LineReader

    settings = FraudSettings(
        generic_fields={"account": "customer", "destination": "called", "end": "hangup", "billsec": "seconds"}
    )
    whole = list(read_cdrs(DATA / name, settings, ReadReport()))
    reader = LineReader(fmt, settings)
    lines = (DATA / name).read_text().splitlines()
    got = []
    for number, line in enumerate(lines, start=1):
        if number == 1 and reader.start_file(line):
            continue
        try:
            cdr = reader.convert(line)
        except CdrRowError:
            continue
        if cdr is not None:
            got.append(cdr)
    assert [(c.account, c.destination, c.end, c.billsec) for c in got] == [
        (c.account, c.destination, c.end, c.billsec) for c in whole
    ]
    assert whole
