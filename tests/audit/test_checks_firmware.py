from __future__ import annotations

from phonewarden.audit.checks_firmware import firmware_outdated, firmware_vulnerable
from phonewarden.audit.results import Status


def test_vulnerable_names_cves_and_the_concrete_fixed_file() -> None:
    status, _, fix, evidence = firmware_vulnerable("yealink", "T41P", "36.83.0.35")
    assert status is Status.FAIL and "CVE-2018-16221" in evidence["cves"]
    assert fix == "update to 36.83.0.100 or later"


def test_end_of_life_says_replace() -> None:
    status, _, fix, _ = firmware_vulnerable("yealink", "T38G", "38.70.0.185")
    assert status is Status.FAIL and "replace" in fix


def test_unknown_when_model_or_version_missing_or_uncomparable() -> None:
    assert firmware_vulnerable("yealink", None, "66.84.0.1")[0] is Status.UNKNOWN
    assert firmware_vulnerable("yealink", "T41S", "66.84")[0] is Status.UNKNOWN
    assert firmware_vulnerable("yealink", "T41S", "66.84.0.53")[0] is Status.PASS


def test_outdated_against_the_policy_minimum() -> None:
    assert firmware_outdated("yealink", "T46S", "66.84.0.20")[0] is Status.FAIL
    assert firmware_outdated("yealink", "T46S", "66.86.0.15")[0] is Status.PASS
    status, detail, _, _ = firmware_outdated("fanvil", "X4", "2.10.2.6887")
    assert status is Status.UNKNOWN and "no minimum release" in detail
