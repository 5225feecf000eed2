from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from phonewarden.fraud.cdr import CdrRowError, LocalTimeParser
from phonewarden.fraud.readers import ReadReport, detect_format, read_cdrs
from phonewarden.fraud.readers_asterisk import (
    CEL_EVENTS,
    AsteriskCel,
    cdr_columns,
    cel_columns,
    split_mapping,
)
from phonewarden.fraud.settings import FraudSettings

# Hand-written from Asterisk's sample mappings; see tests/data/fraud/README.md.
DATA = Path(__file__).resolve().parents[1] / "data" / "fraud"


def _read(path: Path, fmt: str | None = None, **overrides: object) -> tuple[list, ReadReport]:  # type: ignore[type-arg]
    report = ReadReport()
    cdrs = list(read_cdrs(path, FraudSettings(**overrides), report, fmt))  # type: ignore[arg-type]
    return cdrs, report


def test_cdr_custom_sample_mapping_is_detected_and_read_with_bad_row_by_line() -> None:
    path = DATA / "asterisk-cdr-custom.csv"
    cdrs, report = _read(path)
    assert report.formats[str(path)] == "asterisk-custom"
    assert [(c.account, c.destination, c.billsec, c.source, c.call_id) for c in cdrs] == [
        ("acme", "004930123456", 600.0, "1001", "1772442000.1"),
        ("PJSIP/1002", "0088212345678", 0.0, "1002", "1772442300.3"),  # no accountcode: the endpoint
    ]
    assert cdrs[0].end - cdrs[0].start == 605 and cdrs[0].line == 1
    assert report.errors == [f"{path}:3: end 'not a time' is neither epoch seconds nor ISO 8601"]


def test_cdr_custom_with_an_advanced_mapping_and_epoch_times(tmp_path: Path) -> None:
    mapping = 'fields = "pbx-1",start(int64),end(int64),dst,billsec,accountcode,disposition(int64)'
    path = tmp_path / "cdr.csv"
    path.write_text('"pbx-1",1772442000,1772442605,"0044207946000",600,"acme",8\n"pbx-1",1,2,"x"\n')
    cdrs, report = _read(path, "asterisk-custom", asterisk_custom_mapping=mapping)
    assert [(c.account, c.destination, c.start, c.end, c.billsec) for c in cdrs] == [
        ("acme", "0044207946000", 1772442000.0, 1772442605.0, 600.0)
    ]
    assert report.errors == [f"{path}:2: 4 columns, the cdr_custom mapping has 7"]


def test_cel_events_fold_into_calls_by_linkedid() -> None:
    path = DATA / "asterisk-cel.csv"
    cdrs, report = _read(path)
    assert report.formats[str(path)] == "asterisk-cel"
    got = [(c.account, c.destination, round(c.billsec, 2), c.source, c.call_id, c.line) for c in cdrs]
    assert got == [
        ("PJSIP/1002", "0088212345678", 0.0, "1002", "1772442300.3", 12),  # never answered
        ("acme", "*97", 0.0, "1003", "1772442400.5", 16),  # answered by the dialplan only
        ("acme", "0044207946000", 600.02, "1001", "1772442000.1", 19),  # ends when both legs hung up
    ]
    assert cdrs[2].start == 1772442000.0
    assert report.errors == [f"{path}:13: eventtime 'yesterday' is neither epoch seconds nor ISO 8601"]


def test_cel_call_ends_at_linkedid_end_when_hangups_are_not_logged(tmp_path: Path) -> None:
    # cel.conf events=CHAN_START,ANSWER,LINKEDID_END; eventtime with dateformat = %F %T (local time)
    mapping = "fields = EventType,EventTime,CIDNum,Exten,ChanName,AcctCode,UniqueID,LinkedID"
    rows = [
        ("CHAN_START", "2026-03-02 10:00:00", "1001", "900123", "PJSIP/1001-1", "", "a.1", "a.1"),
        ("CHAN_START", "2026-03-02 10:00:01", "900123", "s", "PJSIP/trunk-2", "", "a.2", "a.1"),
        ("ANSWER", "2026-03-02 10:00:10", "900123", "s", "PJSIP/trunk-2", "", "a.2", "a.1"),
        ("LINKEDID_END", "2026-03-02 10:20:10", "1001", "900123", "PJSIP/1001-1", "", "a.1", "a.1"),
    ]
    path = tmp_path / "cel.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)
    (cdr,), report = _read(path, "asterisk-cel", asterisk_cel_mapping=mapping, cdr_timezone="Europe/Berlin")
    assert (cdr.account, cdr.destination, cdr.billsec, cdr.line) == ("PJSIP/1001", "900123", 1200.0, 4)
    assert cdr.start == 1772442000.0  # 10:00 in Berlin (CET) is 09:00 UTC
    assert report.bad_rows == 0


def test_legacy_mapping_lines_split_at_top_level_commas_only() -> None:
    line = "Master.csv => ${CSV_QUOTE(${CDR(billsec,f)})},${CDR(dst)},${CSV_QUOTE(${CDR(end)})}"
    assert split_mapping(line) == [
        "${CSV_QUOTE(${CDR(billsec,f)})}",
        "${CDR(dst)}",
        "${CSV_QUOTE(${CDR(end)})}",
    ]
    assert cdr_columns(line) == {"billsec": 0, "dst": 1, "end": 2}
    assert cdr_columns("")["accountcode"] == 15 and cel_columns("")["linkedid"] == 15


@pytest.mark.parametrize(
    ("key", "mapping", "message"),
    [
        ("asterisk_custom_mapping", "fields = src,start", "lacks dst, end .or start and duration."),
        ("asterisk_cel_mapping", "fields = EventType,EventTime,UniqueID", "lacks linkedid"),
        ("asterisk_custom_mapping", "${CDR(dst}", "unbalanced"),
    ],
)
def test_a_mapping_that_cannot_be_read_is_refused_at_start(key: str, mapping: str, message: str) -> None:
    with pytest.raises(ValidationError, match=f"{key}: .*{message}"):
        FraudSettings(**{key: mapping})  # type: ignore[arg-type]


def test_detection_tells_cdr_custom_and_cel_from_the_other_asterisk_layouts() -> None:
    for name, fmt in [
        ("asterisk-cdr-custom.csv", "asterisk-custom"),
        ("asterisk-cel.csv", "asterisk-cel"),
        ("asterisk-18.csv", "asterisk"),
    ]:
        assert detect_format((DATA / name).read_text()) == fmt


def test_cel_out_of_time_order_never_bills_more_than_the_call_lasted() -> None:
    reader = AsteriskCel(LocalTimeParser(), "fields = EventType,EventTime,ChanName,UniqueID,LinkedID")
    assert reader.convert(["CHAN_START", "2000000000.0", "PJSIP/1-1", "l.1", "l.1"]) is None
    assert reader.convert(["ANSWER", "1000000000.0", "PJSIP/t-2", "l.2", "l.1"]) is None
    cdr = reader.convert(["LINKEDID_END", "1500000000.0", "PJSIP/1-1", "l.1", "l.1"])
    assert cdr is not None and (cdr.start, cdr.end, cdr.billsec) == (1.5e9, 1.5e9, 0.0)


_times = st.one_of(
    st.floats(1.0e9, 2.0e9).map(lambda t: f"{t:.6f}"),
    st.sampled_from(["", "yesterday", "2026-03-02 10:00:00", "1e400", "nan"]),
)
_cel_rows = st.lists(
    st.tuples(
        st.sampled_from([*sorted(CEL_EVENTS), "", "MY_EVENT"]),
        _times,
        st.sampled_from(["", "1001", "acme"]),
        st.sampled_from(["", "s", "0044207946000"]),
        st.sampled_from(["", "PJSIP/1001-1", "x"]),
        st.sampled_from(["l.1", "l.2", "l.3", ""]),
        st.sampled_from(["l.1", "l.2", "l.3", ""]),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_cel_rows)
def test_fuzz_cel_rows_give_calls_or_row_errors_only(rows: list[tuple[str, ...]]) -> None:
    """Any event order: each row is a call, nothing, or a CdrRowError; calls never end before they start."""
    mapping = "fields = EventType,EventTime,CIDNum,Exten,ChanName,UniqueID,LinkedID"
    reader = AsteriskCel(LocalTimeParser(), mapping)
    for row in rows:
        try:
            cdr = reader.convert(list(row))
        except CdrRowError:
            continue
        if cdr is not None:
            assert cdr.start <= cdr.end and 0 <= cdr.billsec <= cdr.end - cdr.start + 1e-6
    assert reader.unfinished <= 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=22), max_size=8))
def test_fuzz_cdr_custom_and_cel_files_report_bad_rows_by_line(rows: list[list[str]]) -> None:
    from phonewarden.fraud.readers import read_text

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    for fmt in ("asterisk-custom", "asterisk-cel"):
        report = ReadReport()
        list(read_text(io.StringIO(buffer.getvalue()), "fuzz", fmt, FraudSettings(), report))
        assert report.cdrs + report.bad_rows <= report.rows
        assert all(error.startswith("fuzz:") for error in report.errors)


def test_cel_written_by_the_current_sample_with_its_literal_column_is_read_too(tmp_path: Path) -> None:
    rows = list(csv.reader((DATA / "asterisk-cel.csv").open(newline="")))
    path = tmp_path / "Master.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows([[r[0], "My Literal", *r[1:]] for r in rows])
    cdrs, report = _read(path)
    assert report.formats[str(path)] == "asterisk-cel"
    assert [(c.account, c.destination, round(c.billsec, 2)) for c in cdrs] == [
        ("PJSIP/1002", "0088212345678", 0.0),
        ("acme", "*97", 0.0),
        ("acme", "0044207946000", 600.02),
    ]
    assert report.bad_rows == 1
