"""Sample provisioning data for `phonewarden demo`: two sites, seven phones, a day's worth of fetch decisions.

Everything goes through the guard's own code: the inventory generates and seals the passwords, and the
fetches are real requests to the provisioning service, so every reason in the fetch log is the gate's own
decision and the counts on the phones page agree with it. Phones fetch from their site's network
(RFC 5737 ranges); an enumeration run from 203.0.113.66 becomes a finding like a real one would.

The secrets are sealed with the configured encryption key, or else with the demo key that
`[provisioning] demo = true` uses (`<data_dir>/provisioning-demo.key`), so `provision serve` can open them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from phonewarden.provisioning.eventlog import EventLog
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.secrets_box import SecretBox, load_box
from phonewarden.provisioning.service import Fetch, ProvisioningService
from phonewarden.provisioning.settings import ProvisioningSettings

HQ, BRANCH = "hq", "branch"
# mac, vendor, model, site, owner, SIP line, User-Agent the phone sends
PHONES = (
    ("0015654c4c26", "yealink", "T46S", HQ, "reception", "2001",
     "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"),
    ("0015654c4c27", "yealink", "T46S", HQ, "sales desk 1", "2002",
     "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:27"),
    ("805ec0a1b2c3", "yealink", "T54W", HQ, "sales desk 2", "2003",
     "Yealink SIP-T54W 96.86.0.70 80:5e:c0:a1:b2:c3"),
    ("000b82aabbcc", "grandstream", "GXP2170", HQ, "warehouse", "2004",
     "Grandstream Model HW GXP2170 V1.1A SW 1.0.11.6 DevId 000b82aabbcc"),
    ("c074ad273a10", "grandstream", "GXP2170", HQ, "", "2005",
     "Grandstream Model HW GXP2170 V1.1A SW 1.0.11.6 DevId c074ad273a10"),
    ("000413922d24", "snom", "D785", BRANCH, "branch manager", "3001",
     "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)"),
    ("000413922d25", "snom", "D785", BRANCH, "branch front desk", "3002",
     "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D25 SXM:0 UXM:0)"),
)  # fmt: skip
PATHS = {"yealink": "/{mac}.cfg", "snom": "/{mac}.xml", "grandstream": "/cfg{mac}.xml"}
ENUMERATOR = "203.0.113.66"


def _demo_box() -> SecretBox:
    from phonewarden.settings import load_settings

    settings = load_settings()
    prov = settings.provisioning
    if not prov.encryption_key and prov.encryption_key_file is None:
        prov = prov.model_copy(update={"demo": True})
    return load_box(prov, settings.data_dir)


def _certificate(mac: str) -> bytes:
    """A device certificate naming `mac` as Snom's do (the TLS layer checks the chain; the gate the MAC)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, mac.upper())])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def load(engine: Engine, rng: random.Random, now: datetime, box: SecretBox | None = None) -> str:
    """Fill the inventory and the fetch log; one line for the operator."""
    settings = ProvisioningSettings(public_url="https://prov.example.test:8443", registrar="pbx.example.test")
    inventory = Inventory(engine, box or _demo_box(), settings)
    if any(site["name"] == HQ for site in inventory.sites()):
        return "sample inventory present already, nothing added"
    inventory.add_site(HQ, networks=["192.0.2.0/24"], max_fetches=3, window_hours=72.0)
    inventory.add_site(BRANCH, networks=["198.51.100.0/24"], require_client_cert=True, window_hours=24.0)
    for mac, vendor, model, site, owner, line, _ in PHONES:
        inventory.add_device(mac, vendor, model, site, owner, [(line, owner.title() or line)])
    service = ProvisioningService(inventory, settings, events=EventLog(engine), engine=engine)
    served = denied = 0

    def fetch(index: int, source: str, user_agent: str | None = None, cert: bytes | None = None) -> None:
        nonlocal served, denied
        mac, vendor, _, _, _, _, agent = PHONES[index]
        path = PATHS[vendor].format(mac=mac)
        answer = service.handle(Fetch(source, path, user_agent=user_agent or agent, client_cert_der=cert))
        served, denied = served + (answer.status == 200), denied + (answer.status != 200)

    hq = [f"192.0.2.{40 + i}" for i in range(5)]
    fetch(0, hq[0])  # reception: provisioned, then rebooted once
    fetch(0, hq[0])
    for _ in range(4):  # sales desk 1 rebooted in a loop: the fourth fetch is one too many
        fetch(1, hq[1])
    fetch(2, hq[2], user_agent="Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3")  # wrong model claimed
    fetch(2, hq[2])
    fetch(2, "203.0.113.9")  # the right file asked from outside the site's network
    fetch(3, hq[3])
    fetch(5, "198.51.100.31")  # branch: no client certificate -> denied
    fetch(5, "198.51.100.31", cert=_certificate(PHONES[5][0]))
    fetch(6, "198.51.100.32", cert=_certificate(PHONES[5][0]))  # another phone's certificate
    for _ in range(rng.randint(22, 30)):  # an enumeration run: guessed MACs under the Yealink OUI
        guess = f"001565{rng.randrange(16**6):06x}"
        answer = service.handle(Fetch(ENUMERATOR, f"/{guess}.cfg", user_agent="Yealink SIP-T46S 66.86.0.15"))
        denied += answer.status != 200
    inventory.retire(PHONES[3][0], "warehouse phone replaced")  # the next fetch wipes it
    fetch(3, hq[3])
    service.close()  # fetch counts and the decision log written
    return f"{len(PHONES)} phones at 2 sites, {served} configs served, {denied} fetches denied"
