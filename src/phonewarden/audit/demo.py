"""Sample audit results for `phonewarden demo`: two sites linted, one phone subnet probed.

The configs below are small but real files of each vendor's format; they go through the same reader,
checks and store as `phonewarden audit config --store`, and the probe facts through the probe's deciders,
so every detail, fix and advisory on the console pages is what a real run would show. Addresses are from
the documentation ranges (RFC 5737), host names end in .example.test.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from phonewarden.audit.checks_config import check_config
from phonewarden.audit.configs import parse_config_text
from phonewarden.audit.fingerprint import from_header
from phonewarden.audit.probe import HostFacts
from phonewarden.audit.probe_checks import check_host
from phonewarden.audit.probe_sip import SipAnswer
from phonewarden.audit.probe_web import LoginResult
from phonewarden.audit.service import Outcome, store

YEALINK_OLD = """#!version:1.0.0.1
account.1.enable = 1
account.1.user_name = 201
account.1.password = 201201
account.1.sip_server.1.address = pbx.example.test
account.1.sip_server.1.transport_type = 0
account.1.srtp_encryption = 0
static.auto_provision.server.url = http://prov.example.test/yealink/
static.firmware.url = http://prov.example.test/fw/T46S-66.84.0.20.rom
features.bluetooth_enable = 1
static.network.internet_port.ip = 192.0.2.31
"""

YEALINK_HARDENED = """#!version:1.0.0.1
static.security.user_password = admin:Vb7#kq2LmPz9
static.security.user_password = user:Tz4!wq8RnXc1
account.1.enable = 1
account.1.user_name = 202
account.1.password = Hq9$eR2vLm7pXz
account.1.sip_server.1.address = pbx.example.test
account.1.sip_server.1.transport_type = 2
account.1.srtp_encryption = 2
static.wui.http_enable = 0
static.wui.https_enable = 1
features.bluetooth_enable = 0
static.wifi.enable = 0
static.usbdisk.function.enable = 0
static.auto_provision.repeat.enable = 1
static.auto_provision.server.url = https://prov.example.test/yealink/
static.firmware.url = https://prov.example.test/fw/T46S-66.86.0.15.rom
features.direct_ip_call_enable = 0
phone_setting.phone_lock.enable = 1
phone_setting.phone_lock.unlock_pin = 739104
static.network.internet_port.ip = 192.0.2.32
"""

SNOM_OLD = """<?xml version="1.0" encoding="utf-8"?>
<settings><phone-settings>
 <setting_server perm="R">http://prov.example.test/snom/{mac}</setting_server>
 <user_name idx="1" perm="">401</user_name>
 <user_pass idx="1" perm="">1234</user_pass>
 <user_host idx="1" perm="">pbx.example.test;transport=udp</user_host>
 <user_srtp idx="1" perm="">off</user_srtp>
 <update_policy perm="">never_update_firm</update_policy>
 <firmware_status perm="R">http://prov.example.test/snom/fw/snom720-8.7.3.25.bin</firmware_status>
</phone-settings></settings>
"""

SNOM_HARDENED = """<?xml version="1.0" encoding="utf-8"?>
<settings><phone-settings>
 <setting_server perm="R">https://prov.example.test/snom/{mac}</setting_server>
 <http_user perm="R">admin</http_user>
 <http_pass perm="R">Lp8#vNq2Wx5tRz</http_pass>
 <admin_mode_password perm="R">Qm3!zT8kPw6yHs</admin_mode_password>
 <user_name idx="1" perm="">402</user_name>
 <user_pass idx="1" perm="">Zx9$Tn4bVq7LmK</user_pass>
 <user_host idx="1" perm="">pbx.example.test;transport=tls</user_host>
 <user_srtp idx="1" perm="">on</user_srtp>
 <user_savp idx="1" perm="">mandatory</user_savp>
 <update_policy perm="R">auto_update</update_policy>
 <firmware_status perm="R">https://prov.example.test/snom/fw/snomD785-10.1.201.0.bin</firmware_status>
</phone-settings></settings>
"""

GRANDSTREAM_OLD = """<?xml version="1.0" encoding="UTF-8" ?>
<gs_provision version="1"><mac>000b82aabbcc</mac><config version="1">
 <P2>admin</P2><P35>501</P35><P47>pbx.example.test</P47><P34>password</P34>
 <P130>0</P130><P194>0</P194><P212>1</P212><P237>prov.example.test/gs</P237>
</config></gs_provision>
"""

POLY_DEFAULT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<polycomConfig>
 <device device.auth.localAdminPassword="456" device.prov.serverType="HTTPS"
  device.prov.serverName="prov.example.test"/>
 <reg reg.1.address="601" reg.1.auth.userId="601" reg.1.auth.password="Mw7!rT3zQp9xLk"
  reg.1.server.1.transport="TLS"/>
 <sec sec.srtp.enable="1" sec.srtp.require="1"/>
</polycomConfig>
"""

FANVIL_DEFAULT = """<?xml version="1.0" encoding="UTF-8" ?>
<VOIP_CONFIG_FILE><version>2.0002</version>
<MMI_CONFIG_MODULE><Web_Server_Type>0</Web_Server_Type><MMI_Account><MMI_Account_Entry>
 <ID>Account1</ID><Name>admin</Name><Password>admin</Password><Level>10</Level>
</MMI_Account_Entry></MMI_Account></MMI_CONFIG_MODULE>
<SIP_CONFIG_MODULE><SIP_Line_List><SIP_Line_List_Entry>
 <ID>SIP1</ID><Register_Addr>pbx.example.test</Register_Addr><Register_User>701</Register_User>
 <Register_Pswd>701</Register_Pswd><Transport>0</Transport>
</SIP_Line_List_Entry></SIP_Line_List></SIP_CONFIG_MODULE>
</VOIP_CONFIG_FILE>
"""

SITES: dict[str, dict[str, str]] = {
    "hq": {
        "/srv/tftp/hq/0015654c4c26.cfg": YEALINK_OLD,
        "/srv/tftp/hq/0015654c4c27.cfg": YEALINK_HARDENED,
        "/srv/tftp/hq/000413922d24.xml": SNOM_OLD,
        "/srv/tftp/hq/000413922d25.xml": SNOM_HARDENED,
    },
    "branch": {
        "/srv/tftp/branch/cfg000b82aabbcc.xml": GRANDSTREAM_OLD,
        "/srv/tftp/branch/0004f2a1b2c3.cfg": POLY_DEFAULT,
        "/srv/tftp/branch/0c383e07e16c.xml": FANVIL_DEFAULT,
    },
}

# What a probe of the branch's phone VLAN saw: (address, User-Agent, open TCP ports, web login outcome).
PROBED = (
    ("198.51.100.21", "Yealink SIP-T42S 66.84.0.15", (80, 443), "default-works"),
    ("198.51.100.22", "Grandstream GXP1625 1.0.4.128", (22, 80), "default-refused"),
    ("198.51.100.23", "snomD785/10.1.201.0", (443,), "default-refused"),
)


def _lint(site: str, files: dict[str, str], rng: random.Random, now: datetime) -> Outcome:
    outcome = Outcome()
    for name, text in files.items():
        written = now - timedelta(hours=rng.uniform(2, 72))  # the file's modification time
        outcome.results += check_config(parse_config_text(Path(name), text), written.timestamp(), site)
    return outcome


def _probe(rng: random.Random, now: datetime) -> Outcome:
    outcome = Outcome()
    for address, agent, open_ports, login in PROBED:
        ports = {port: port in open_ports for port in (22, 23, 80, 443, 7547)}
        seen = (now - timedelta(minutes=rng.uniform(5, 60))).timestamp()
        answer = SipAnswer("udp", 5060, 200, "OK", agent, None, "1a2b3c", "INVITE, ACK, BYE, CANCEL, OPTIONS")
        facts = HostFacts(address, seen, sip=[answer], ports=ports, fingerprint=from_header(agent))
        verdict = "accepted" if login == "default-works" else "refused"
        facts.login = LoginResult(login, f"one login with the vendor default: {verdict}", 1)
        outcome.hosts.append(facts)
        outcome.results += check_host(facts, "branch")
    return outcome


def load(engine: Engine, rng: random.Random, now: datetime) -> str:
    """Store the sample runs; one line for the operator."""
    devices = failing = 0
    for site, files in SITES.items():
        outcome = _lint(site, files, rng, now)
        store(engine, "config", site, outcome)
        devices += len(files)
        failing += len({r.target for r in outcome.results if r.status.value == "fail"})
    probed = _probe(rng, now)
    store(engine, "probe", "branch", probed)
    failing += len({r.target for r in probed.results if r.status.value == "fail"})
    devices += len(PROBED)
    return f"3 audit runs (2 config lints, 1 probe), {devices} devices, {failing} failing"
