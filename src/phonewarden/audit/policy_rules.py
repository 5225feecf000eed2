"""The hardening rules as data (ids are stable: reports, stored results and provisioning use them).

Sources: Telekom customer guide for desk IP phones (seed 002, item numbers as in the guide), TeamSIP
(seed 003), vendor templates and hardening pages collected in shared/reference/audit-and-provisioning.md
(as of 2026-11). `verified=False` marks keys/values seen only in secondary sources.
BSI IDs: IT-Grundschutz NET.4.2 VoIP and SYS.4.4 (module level; requirement numbers per the reference note).
"""

from __future__ import annotations

from phonewarden.audit.policy import SECRET, Rule, Setting, Vendor
from phonewarden.store.models import Severity

Y, S, G, P, F = Vendor.YEALINK, Vendor.SNOM, Vendor.GRANDSTREAM, Vendor.POLY, Vendor.FANVIL

ETSI_PASSWORDS = "ETSI EN 303 645 5.1"
ETSI_UPDATES = "ETSI EN 303 645 5.3"
ETSI_COMMS = "ETSI EN 303 645 5.5"
ETSI_SURFACE = "ETSI EN 303 645 5.6"
BSI_VOIP = "BSI IT-Grundschutz NET.4.2"
NIST = "NIST SP 800-58"

# Password keys are checked by dedicated code (values are secrets); the settings say where they live.
RULES: tuple[Rule, ...] = (
    Rule(
        "default-admin-password",
        "Change the default admin password",
        Severity.CRITICAL,
        "Every phone of a model ships with the same admin password; anyone on the network can take it over.",
        "2.1 change the default admin password",
        (ETSI_PASSWORDS, "BSI SYS.4.4.A2", BSI_VOIP, NIST, "CIS 4.7"),
        {
            Y: (Setting("static.security.user_password", f"admin:{SECRET}", default="admin:admin"),),
            S: (
                Setting("http_pass", SECRET, default=""),
                Setting("admin_mode_password", SECRET, default="0000"),
            ),
            G: (Setting("P2", SECRET),),
            P: (Setting("device.auth.localAdminPassword", SECRET, default="456"),),
            F: (
                Setting(
                    "MMI_CONFIG_MODULE.MMI_Account.admin.Password", SECRET, default="admin", verified=False
                ),
            ),
        },
        probe="one login attempt with the vendor default on the web UI, lockout-aware",
    ),
    Rule(
        "weak-admin-password",
        "Use a strong admin password",
        Severity.HIGH,
        "A short or common admin password is guessed in minutes; the web UI gives full control of the phone.",
        "3.1 passwords that cannot be guessed",
        (ETSI_PASSWORDS, "BSI SYS.4.4.A2", NIST),
        {
            Y: (Setting("static.security.user_password", f"admin:{SECRET}"),),
            S: (Setting("http_pass", SECRET), Setting("admin_mode_password", SECRET)),
            G: (Setting("P2", SECRET),),
            P: (Setting("device.auth.localAdminPassword", SECRET),),
            F: (Setting("MMI_CONFIG_MODULE.MMI_Account.admin.Password", SECRET, verified=False),),
        },
    ),
    Rule(
        "default-user-password",
        "Change the default user password",
        Severity.MEDIUM,
        "The user account is the same on every phone and can read call lists and change call forwarding.",
        "2.1 change the default admin password",
        (ETSI_PASSWORDS, "BSI SYS.4.4.A2"),
        {
            Y: (Setting("static.security.user_password", f"user:{SECRET}", default="user:user"),),
            G: (Setting("P196", SECRET, default="123", verified=False),),
            P: (Setting("device.auth.localUserPassword", SECRET, default="123"),),
            F: (
                Setting(
                    "MMI_CONFIG_MODULE.MMI_Account.guest.Password", SECRET, default="guest", verified=False
                ),
            ),
        },
    ),
    Rule(
        "sip-transport-not-tls",
        "Use SIP over TLS (SIPS)",
        Severity.HIGH,
        "Plain SIP shows who calls whom and lets an attacker on the path read the digest and redirect calls.",
        "2.1 SIPS instead of SIP, SRTP instead of RTP",
        (ETSI_COMMS, "BSI SYS.4.4.A11", BSI_VOIP, NIST),
        {
            Y: (Setting("account.{n}.sip_server.1.transport_type", "2", default="0"),),
            S: (Setting("user_host{n}", "<registrar>;transport=tls"),),
            G: (Setting("P130", "2", verified=False),),
            P: (Setting("reg.{n}.server.1.transport", "TLS"),),
            F: (Setting("SIP_CONFIG_MODULE.SIP_Line_List.SIP{n}.Transport", "3", verified=False),),
        },
        probe="SIP OPTIONS over UDP, TCP and TLS; TLS certificate facts on 5061",
    ),
    Rule(
        "srtp-not-required",
        "Require SRTP for media",
        Severity.MEDIUM,
        "Unencrypted RTP lets anyone on the path record the conversation.",
        "2.1 SIPS instead of SIP, SRTP instead of RTP",
        (ETSI_COMMS, "BSI SYS.4.4.A11", BSI_VOIP, NIST),
        {
            Y: (Setting("account.{n}.srtp_encryption", "2", default="0"),),
            S: (Setting("user_srtp{n}", "on"), Setting("user_savp{n}", "mandatory")),
            G: (Setting("P183", "2", verified=False),),
            P: (Setting("sec.srtp.enable", "1"), Setting("sec.srtp.require", "1", default="0")),
        },
    ),
    Rule(
        "web-ui-http",
        "Serve the web UI over HTTPS only",
        Severity.MEDIUM,
        "Over HTTP the admin password crosses the network in clear text.",
        "3.1 administration by web browser",
        (ETSI_COMMS, "BSI SYS.4.4.A11", NIST),
        {
            Y: (
                Setting("static.wui.http_enable", "0", default="1"),
                Setting("static.wui.https_enable", "1", default="1"),
            ),
            S: (Setting("webserver_type", "https", verified=False),),
            F: (Setting("MMI_CONFIG_MODULE.Web_Server_Type", "1", verified=False),),
        },
        probe="HTTP on 80 and HTTPS on 443: open, redirect, certificate",
    ),
    Rule(
        "bluetooth-enabled",
        "Turn Bluetooth off when unused",
        Severity.LOW,
        "Bluetooth is a radio reachable from outside the building and rarely needed on a desk phone.",
        "2.1 disable unneeded services (e.g. Bluetooth)",
        ("BSI SYS.4.4.A13", ETSI_SURFACE, "CIS 4.8"),
        {Y: (Setting("features.bluetooth_enable", "0", accepted=()),)},
    ),
    Rule(
        "wifi-enabled-unused",
        "Turn Wi-Fi off when the phone is cabled",
        Severity.LOW,
        "An enabled but unused Wi-Fi radio can be joined to a rogue access point.",
        "2.1 disable unneeded services",
        ("BSI SYS.4.4.A13", ETSI_SURFACE),
        {Y: (Setting("static.wifi.enable", "0"),)},
    ),
    Rule(
        "usb-enabled",
        "Turn USB storage off",
        Severity.LOW,
        "Software or configs brought in on a USB stick bypass the provisioning chain.",
        "2.1 no software from USB storage after installation",
        ("BSI SYS.4.4.A13", ETSI_SURFACE),
        {Y: (Setting("static.usbdisk.function.enable", "0", default="1"),)},
    ),
    Rule(
        "auto-update-disabled",
        "Install updates automatically",
        Severity.MEDIUM,
        "Phones that never check for updates keep known flaws for years.",
        "2.1 install updates automatically",
        (ETSI_UPDATES, "BSI SYS.4.4.A10", "CIS 7"),
        {
            Y: (Setting("static.auto_provision.repeat.enable", "1", default="0"),),
            S: (Setting("update_policy", "auto_update"),),
            G: (Setting("P194", "2", accepted=("1", "3"), verified=False),),
            F: (Setting("AUTOUPDATE_CONFIG_MODULE.Download_Mode", "1", verified=False),),
        },
    ),
    Rule(
        "firmware-vulnerable",
        "Update firmware with known vulnerabilities",
        Severity.CRITICAL,
        "This firmware has published flaws (CVE) that are fixed in a later release.",
        "3.1 install announced updates promptly",
        (ETSI_UPDATES, "BSI SYS.4.4.A10", "CIS 7"),
        probe="model and firmware from the SIP User-Agent/Server header",
        advice="install the fixed release named in the advisory; replace models without a fix",
    ),
    Rule(
        "firmware-outdated",
        "Update to the current firmware release",
        Severity.MEDIUM,
        "Firmware older than the vendor's current release misses fixes that have no CVE yet.",
        "3.1 install announced updates promptly",
        (ETSI_UPDATES, "CIS 7"),
        probe="model and firmware from the SIP User-Agent/Server header",
        advice="install the vendor's current release and turn automatic updates on",
    ),
    Rule(
        "direct-ip-calls-accepted",
        "Accept SIP only from the registrar",
        Severity.HIGH,
        "A phone that takes INVITEs from anyone rings for scanners (ghost calls) and invites toll fraud.",
        "2.1 not directly reachable from the internet",
        ("BSI SYS.4.4.A5", BSI_VOIP, NIST, ETSI_SURFACE),
        {
            Y: (
                Setting("features.direct_ip_call_enable", "0", default="1"),
                Setting("sip.trust_ctrl", "1", default="0"),
            ),
            S: (Setting("filter_registrar", "on", verified=False),),
            G: (Setting("P2347", "1"),),
            P: (Setting("voIpProt.SIP.requestValidation.1.method", "source", verified=False),),
        },
        probe="unsolicited OPTIONS (and INVITE with --ghost-call) from this non-registrar host",
    ),
    Rule(
        "phone-lock-disabled",
        "Lock the keypad with a PIN",
        Severity.LOW,
        "An unlocked phone in an open office lets anyone call out or change its settings.",
        "3.1 lock the phone and its screen when leaving",
        ("CIS 4.3",),
        {Y: (Setting("phone_setting.phone_lock.enable", "1", default="0"),)},
    ),
    Rule(
        "provisioning-over-http",
        "Fetch configs over HTTPS",
        Severity.HIGH,
        "Configs carry SIP credentials; over HTTP, TFTP or FTP anyone on the path reads them.",
        "2.1 best available encryption",
        (ETSI_COMMS, "BSI SYS.4.4.A11", NIST),
        {
            Y: (Setting("static.auto_provision.server.url", "https://<server>/"),),
            S: (Setting("setting_server", "https://<server>/{mac}"),),
            G: (Setting("P212", "2", verified=False),),
            P: (Setting("device.prov.serverType", "HTTPS"),),
            F: (Setting("AUTOUPDATE_CONFIG_MODULE.Download_Protocol", "5", verified=False),),
        },
    ),
    Rule(
        "provisioning-credentials-in-url",
        "Keep credentials out of the provisioning URL",
        Severity.HIGH,
        "user:password@ in a URL ends up in logs, DHCP option 66 and every copy of the config.",
        "3.1 keep SIP PINs secret",
        (ETSI_PASSWORDS, "BSI SYS.4.4.A2"),
        {
            Y: (Setting("static.auto_provision.server.url", "https://<server>/"),),
            S: (Setting("setting_server", "https://<server>/{mac}"),),
        },
    ),
    Rule(
        "telnet-ssh-enabled",
        "Turn telnet and SSH off",
        Severity.MEDIUM,
        "A remote shell is a second way in; Grandstream's SSH config had command injection (CVE-2018-17565).",
        "2.1 disable unneeded services",
        ("BSI SYS.4.4.A13", ETSI_SURFACE, NIST, "CIS 4.8"),
        {G: (Setting("P276", "1", verified=False),)},
        probe="TCP connect to 22 and 23",
    ),
    Rule(
        "exposed-to-internet",
        "Keep the phone off the internet",
        Severity.CRITICAL,
        "A phone reachable from the internet is scanned within hours and its web UI and SIP port attacked.",
        "2.1 private network behind a firewall",
        ("BSI SYS.4.4.A5", BSI_VOIP, NIST),
        {Y: (Setting("static.network.internet_port.ip", "<private address>"),)},
        probe="a public target address that answers",
        advice="keep phones in a private network behind a firewall: no port forwarding to 5060/5061/80/443; "
        "reach remote phones through a VPN or an SBC",
    ),
    Rule(
        "weak-sip-password",
        "Use strong SIP passwords",
        Severity.HIGH,
        "SIP digests are cracked offline and guessed online; a cracked account runs up toll fraud.",
        "3.1 personal, secret SIP PINs",
        (ETSI_PASSWORDS, NIST),
        {
            Y: (Setting("account.{n}.password", SECRET),),
            S: (Setting("user_pass{n}", SECRET),),
            G: (Setting("P34", SECRET),),
            P: (Setting("reg.{n}.auth.password", SECRET),),
            F: (Setting("SIP_CONFIG_MODULE.SIP_Line_List.SIP{n}.Register_Pswd", SECRET),),
        },
    ),
)

CHECK_IDS: tuple[str, ...] = tuple(r.id for r in RULES)
