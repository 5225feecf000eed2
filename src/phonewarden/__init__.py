"""phonewarden: guards IP telephony (SIP shield, fraud, privacy, audit, provisioning)."""

from phonewarden import _accel

__version__ = "0.1.0"

_accel.install()  # before any hot module is imported: see phonewarden/_accel.py
