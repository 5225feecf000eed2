"""phonewarden: guards IP telephony (SIP shield, fraud, privacy, audit, provisioning)."""

__version__ = "0.1.0"
