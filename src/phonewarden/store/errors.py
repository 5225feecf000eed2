"""The one error type the store raises for problems an operator must fix (bad URL, unreachable database)."""

from __future__ import annotations


class StoreError(Exception):
    """A database problem described for an operator; the message never contains a password."""
