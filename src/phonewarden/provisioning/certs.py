"""The MAC a phone's client certificate is bound to.

The TLS layer has already checked that the certificate chains to the configured vendor device CA
(`client_ca`); here only the identity is read. Vendors put the MAC in the subject CN (Snom, Poly:
`CN=000413922D24`, sometimes with separators or a prefix such as `SEP`), in serialNumber, or in a SAN.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

_MAC_IN_TEXT = re.compile(r"(?<![0-9a-f])((?:[0-9a-f]{2}[:\-]?){5}[0-9a-f]{2})(?![0-9a-f])", re.I)


def mac_in(text: str) -> str | None:
    match = _MAC_IN_TEXT.search(text)
    return re.sub(r"[:\-]", "", match.group(1)).lower() if match else None


@lru_cache(maxsize=4096)  # a phone presents the same certificate on every request of its connection
def certificate_mac(der: bytes) -> str | None:
    """The MAC in the subject (CN, serialNumber) or SAN of a DER certificate; None when it names none."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    for oid in (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER):
        for attribute in cert.subject.get_attributes_for_oid(oid):
            value = (
                attribute.value
                if isinstance(attribute.value, str)
                else attribute.value.decode(errors="replace")
            )
            found = mac_in(value)
            if found:
                return found
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in san.get_values_for_type(x509.DNSName) + san.get_values_for_type(
        x509.UniformResourceIdentifier
    ):
        found = mac_in(name)
        if found:
            return found
    return None
