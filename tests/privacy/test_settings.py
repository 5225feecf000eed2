from __future__ import annotations

import pytest
from pydantic import ValidationError

from phonewarden.privacy.settings import PrivacySettings


def test_defaults_and_bad_policy() -> None:
    assert PrivacySettings().policies == ["eu"]
    with pytest.raises(ValidationError, match="not understood"):
        PrivacySettings(policies=["mars"])
