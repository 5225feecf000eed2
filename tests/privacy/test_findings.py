from __future__ import annotations

from phonewarden.privacy.findings import MAX_NAMES, Destination, redacted_excerpt


def test_excerpt_masks_the_identifier() -> None:
    text = redacted_excerpt(b"POST x\r\nimei=352099001761481&y=1", 13, 28)
    assert "352099001761481" not in text and "[35…81]" in text and ".." in text


def test_unknown_fields_left_out() -> None:
    record = Destination("p", "udp", "9.9.9.9", 53, 0.0, 1.0).to_json()
    assert "host" not in record and record["type"] == "destination" and record["time"].endswith("Z")


def test_excerpt_context_shows_no_other_identifier() -> None:
    payload = b"GET /r?imei=352099001761481&imsi=460031234567898&mac=f0:18:98:01:02:03&sn=SN0004133F9A2 x"
    start = payload.index(b"3520")
    serial = payload.index(b"SN00")
    text = redacted_excerpt(payload, start, start + 15, [(serial, serial + 13)])
    assert text == "GET /r?imei=[35…81]&imsi=…&ma"
    for value in ("460031234567898", "4600312", "f0:18:98", "SN0004133F9A2", "0004133"):
        assert value not in text
    later = payload.index(b"4600")
    text = redacted_excerpt(payload, later, later + 15)
    assert "…&imsi=[46…98]&mac=…" in text  # a number cut by the window's edge is masked whole


def test_excerpt_keeps_words_and_short_numbers_readable() -> None:
    payload = b'{"v":12,"id":"352099001761481","n":"a facade"}'
    start = payload.index(b"3520")
    assert redacted_excerpt(payload, start, start + 15) == '{"v":12,"id":"[35…81]","n":"a facade"}'


def test_several_names_of_one_address_are_all_kept_and_bounded() -> None:
    dest = Destination("p", "tcp", "104.16.132.229", 443, 0.0, 1.0)
    dest.add_name("tracker.evil.example", "sni")
    dest.add_name("api.vendor.com", "sni")
    dest.add_name("tracker.evil.example", "sni")
    record = dest.to_json()
    assert record["host"] == "tracker.evil.example"  # the latest name; `hosts` has them all, in order
    assert record["hosts"] == ["tracker.evil.example", "api.vendor.com"]
    single = Destination("p", "tcp", "203.0.113.9", 443, 0.0, 1.0, host="a.example")
    assert single.names == ["a.example"] and "hosts" not in single.to_json()
    for index in range(MAX_NAMES + 3):
        dest.add_name(f"n{index}.example", "sni")
    assert len(dest.hosts) == MAX_NAMES and dest.to_json()["hosts_dropped"] == 5
