from __future__ import annotations

import pytest
from pydantic import ValidationError

from phonewarden.privacy.settings import PrivacySettings


def test_defaults_and_bad_policy() -> None:
    assert PrivacySettings().policies == ["eu"]
    with pytest.raises(ValidationError, match="not understood"):
        PrivacySettings(policies=["mars"])


def test_live_store_interval() -> None:
    assert PrivacySettings().store_interval_s == 600  # ten minutes: what a crash can lose at most
    assert PrivacySettings(store_interval_s=60).store_interval_s == 60
    with pytest.raises(ValidationError, match="store_interval_s"):
        PrivacySettings(store_interval_s=1)  # a store of every result each second would load the database
