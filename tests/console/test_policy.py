from __future__ import annotations

from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.settings import ConsoleSettings


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)


def test_lockout_backs_off_exponentially_and_is_capped() -> None:
    policy = ConsolePolicy(lock_after=3, lock_base_s=10, lock_max_s=100)
    assert [policy.lock_seconds(n) for n in range(1, 9)] == [0, 0, 10, 20, 40, 80, 100, 100]


def test_knobs_become_the_policy() -> None:
    policy = ConsolePolicy.from_settings(
        ConsoleSettings(idle_timeout_minutes=5, absolute_timeout_hours=2, lock_after_failures=3,
                        lock_base_seconds=60, lock_max_seconds=600, login_burst=4, login_per_minute=2,
                        secure_cookies=False)
    )  # fmt: skip
    assert (policy.idle_timeout_s, policy.absolute_timeout_s) == (300, 7200)
    assert (policy.lock_after, policy.lock_base_s, policy.lock_max_s) == (3, 60, 600)
    assert (policy.login_burst, policy.login_per_minute, policy.secure_cookies) == (4, 2, False)
    assert policy.lock_seconds(2) == 0 and policy.lock_seconds(3) == 60 and policy.lock_seconds(20) == 600
