"""The MAC a client certificate is bound to, wherever the vendor puts it."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from phonewarden.provisioning.certs import certificate_mac, mac_in


def der(attributes: list[x509.NameAttribute[str]], san: list[x509.GeneralName] | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("attributes", "san", "expected"),
    [
        ([x509.NameAttribute(NameOID.COMMON_NAME, "000413922D24")], None, "000413922d24"),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "SEP00:04:13:92:2D:24")], None, "000413922d24"),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "Snom Phone"),
          x509.NameAttribute(NameOID.SERIAL_NUMBER, "00-04-13-92-2D-24")], None, "000413922d24"),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "phone")], [x509.DNSName("0015654c4c26.phones.example")],
         "0015654c4c26"),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "phone")],
         [x509.UniformResourceIdentifier("urn:dev:mac:0015654c4c26")], "0015654c4c26"),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "phone")], [x509.DNSName("phone.example")], None),
        ([x509.NameAttribute(NameOID.COMMON_NAME, "phone")], None, None),
    ],
)  # fmt: skip
def test_certificate_mac(
    attributes: list[x509.NameAttribute[str]], san: list[x509.GeneralName] | None, expected: str | None
) -> None:
    assert certificate_mac(der(attributes, san)) == expected


def test_garbage_is_no_certificate_and_longer_hex_is_no_mac() -> None:
    assert certificate_mac(b"\x30\x03garbage") is None
    assert mac_in("deadbeef0015654c4c26aa") is None
    assert mac_in("id 0015654c4c26.") == "0015654c4c26"
