from __future__ import annotations

from phonewarden.console.policy import ConsolePolicy, Role


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)


def test_lockout_backs_off_exponentially_and_is_capped() -> None:
    policy = ConsolePolicy(lock_after=3, lock_base_s=10, lock_max_s=100)
    assert [policy.lock_seconds(n) for n in range(1, 9)] == [0, 0, 10, 20, 40, 80, 100, 100]
