from __future__ import annotations

from phonewarden.privacy.names import HostNames
from phonewarden.wire.dns import DnsAnswer, DnsMessage, DnsQuestion


def test_answers_name_addresses_per_device_until_ttl() -> None:
    message = DnsMessage(1, True, 0, 0, False, (DnsQuestion("Zzhc.vnet.cn", 1, 1),),
                         (DnsAnswer("zzhc.vnet.cn", 1, 60, "202.97.1.10"),), 0, 0)  # fmt: skip
    names = HostNames(max_keys=4)
    names.learn_dns("p", message, 100.0)
    assert names.lookup("p", "202.97.1.10", 200.0) == "zzhc.vnet.cn"
    assert names.lookup("q", "202.97.1.10", 200.0) is None
    assert names.lookup("p", "202.97.1.10", 100.0 + 86401) is None
