"""Sample fraud data for `phonewarden demo`: three weeks of office calls from four accounts, then a hack.

The CDRs go through the fraud service itself (detectors, policy, store), so what is stored is what the
running guard would have stored: calls and cost per hour, alerts as findings, restrictions with their
audit rows. Three weeks, not one: the baseline needs full weeks before the hour it judges, so the last
7 days shown on /fraud/accounts/{account} have a learned band.

- `hq-sales`, `hq-support`, `branch-7`: weekday office hours, national calls and some to the UK and US;
- `pjsip/1004` (a desk phone's SIP account): the same, until five days ago someone dialled satellite
  numbers from it (restricted, then lifted by an operator), and 90 minutes ago its password leaked: range
  dialling to Somalia and satellite numbers, long calls -> alerts and a restriction still active now.

Numbers are fictional: Berlin +49 30 555 0xxx as in the console's sample, Ofcom's drama ranges
(+44 20 7946 0xxx), the US 555-01xx range, and made-up subscriber digits in the high-risk ranges.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import Engine

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings

DAYS = 21
HACKED = "pjsip/1004"
# account -> calls per office hour (mean); every account calls the same kinds of numbers
ACCOUNTS = {"hq-sales": 5.0, "hq-support": 3.0, "branch-7": 1.5, HACKED: 1.0}
OFFICE_HOURS = range(8, 18)  # UTC, Monday to Friday


def _normal_number(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.8:
        return f"030555{rng.randrange(10_000):04d}"  # Berlin, national
    if pick < 0.95:
        return f"0044207946{rng.randrange(1_000):04d}"  # London (Ofcom drama range)
    return f"001202555{rng.randrange(100, 200):04d}"  # US 555-01xx


def _office_calls(rng: random.Random, start: float, end: float) -> list[Cdr]:
    cdrs = []
    hour = start // 3600 * 3600
    while hour < end:
        moment = datetime.fromtimestamp(hour, UTC)
        if moment.weekday() < 5 and moment.hour in OFFICE_HOURS:
            for account, mean in ACCOUNTS.items():
                for _ in range(_poisson(rng, mean)):
                    begin = hour + rng.uniform(0, 3_300)
                    billsec = round(rng.expovariate(1 / 180))
                    cdrs.append(_cdr(rng, account, _normal_number(rng), begin, billsec))
        hour += 3600
    return [cdr for cdr in cdrs if cdr.end < end]


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1)
    while total < mean:
        count += 1
        total += rng.expovariate(1)
    return count


def _cdr(rng: random.Random, account: str, destination: str, begin: float, billsec: float) -> Cdr:
    call_id = f"{rng.getrandbits(64):016x}@pbx.example.net"
    source = "1004" if account == HACKED else account
    return Cdr(account=account, destination=destination, start=begin, end=begin + 8 + billsec,
               billsec=billsec, source=source, call_id=call_id, source_ip="198.51.100.40",
               origin="demo")  # fmt: skip


def _hack(rng: random.Random, begin: float, calls: int, source_ip: str) -> list[Cdr]:
    """Range dialling to Somalia and a few long satellite calls, a call every 40-90 s."""
    cdrs, moment = [], begin
    for index in range(calls):
        if index % 5 == 4:
            number = f"00882134567{rng.randrange(10, 100):02d}"  # satellite
        else:
            number = f"0025261234{rng.randrange(100, 1000):03d}"  # Somalia mobile range
        cdr = _cdr(rng, HACKED, number, moment, rng.uniform(240, 900))
        cdr.source_ip = source_ip
        cdrs.append(cdr)
        moment += rng.uniform(40, 90)
    return cdrs


def load(engine: Engine, rng: random.Random, now: datetime) -> str:
    """Replay the sample through a fraud service on `engine`; a running serve picks the restrictions
    up within seconds (sync) and reads the rest from the store."""
    end = now.timestamp()
    service = FraudService(FraudSettings(), engine)
    early_hack = end - 5 * 86400 - 3 * 3600
    cdrs = _office_calls(rng, end - DAYS * 86400, end - 2 * 3600)
    cdrs += _hack(rng, early_hack, 6, "203.0.113.80")
    cdrs += _hack(rng, end - 90 * 60, 40, "203.0.113.66")
    cdrs.sort(key=lambda cdr: cdr.end)
    outputs = []
    checked = False
    for cdr in cdrs:
        if not checked and cdr.end > early_hack + 3600:
            # An operator checked the first incident (the user had really called a ship) and lifted it.
            checked = service.lift(HACKED, "alice", early_hack + 3600) or True
        outputs += service.ingest([cdr])
    service.flush_usage()
    alerts = sum(isinstance(out, Alert) for out in outputs)
    restrictions = sum(isinstance(out, Restriction) for out in outputs)
    active = len(service.restrictions(end))
    return (
        f"{len(cdrs)} CDRs of {len(ACCOUNTS)} accounts over {DAYS} days, {alerts} alerts, "
        f"{restrictions} restrictions ({active} active)"
    )
