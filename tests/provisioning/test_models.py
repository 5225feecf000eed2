"""The provisioning tables on SQLite and PostgreSQL: created by the guard's migration, constraints hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from phonewarden.provisioning.models import ProvDevice, ProvSite
from phonewarden.store.engine import session_factory


@pytest.mark.peer
def test_migration_creates_the_tables_and_mac_is_unique(migrated_engine: Engine) -> None:
    tables = set(inspect(migrated_engine).get_table_names())
    assert {"prov_sites", "prov_devices", "prov_accounts", "prov_events"} <= tables
    columns = {c["name"] for c in inspect(migrated_engine).get_columns("prov_devices")}
    assert {"mac", "window_until", "wipe_pending", "config_version", "digest_password"} <= columns
    sessions = session_factory(migrated_engine)
    rules = dict(window_hours=1.0, max_fetches=1, require_user_agent=True, require_client_cert=False,
                 require_digest=False, require_consent=False)  # fmt: skip
    secrets = dict(admin_password="t", user_password="t", digest_password="t", lock_pin="t")
    with sessions.begin() as session:
        site = ProvSite(name="hq", networks=["10.0.0.0/8"], **rules)
        session.add(ProvDevice(mac="0015654c4c26", vendor="yealink", model="T46S", site=site, **secrets))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        site = session.query(ProvSite).one()
        session.add(ProvDevice(mac="0015654c4c26", vendor="snom", model="D785", site=site, **secrets))
    with sessions() as session:
        assert session.query(ProvSite).one().networks == ["10.0.0.0/8"]
