"""Seeded scenario generator: an ITSP's accounts over weeks, with injected attacks and traps.

Profiles: office (Mon-Fri 8-18), shop (Mon-Sat 9-20), 24/7 and night shift (22-06). Injected in the
last week: a weekend PBX hack (parallel long calls to high-cost numbers at night), a slow business-hours
attack (one call at a time to mid-priced numbers), Wangiri call-backs from many accounts. Traps that
must not be restricted: a campaign at 3x volume to usual numbers, a one-off call to a new country,
2-3 hour conference calls (national, France, Brazil), night-shift businesses. `simulate` asks the
engine to authorize every call before it starts, so money lost is what got through before the
restriction.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.records import Alert, Restriction

WEEK = 7 * 86400
START = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC
# Ordinary numbers only (valid fixed lines and mobiles): (prefix, digits that follow).
NATIONAL = [("030", 8), ("040", 8), ("089", 8), ("0221", 7), ("0151", 8), ("0160", 7), ("0171", 7)]
ABROAD = [("0044207", 7), ("00331", 8), ("00431", 7), ("004144", 7), ("003120", 7)]
PROFILES = {  # (weekdays, first hour, last hour, calls per hour)
    "office": (range(5), 8, 18, 2.0),
    "shop": (range(6), 9, 20, 1.0),
    "allday": (range(7), 0, 24, 1.5),
    "night": (range(7), 22, 30, 1.5),  # 22:00 to 06:00 next day
}


@dataclass(order=True)
class Call:
    start: float
    account: str = field(compare=False)
    destination: str = field(compare=False)
    seconds: float = field(compare=False)
    tag: str = field(compare=False, default="normal")
    call_id: str = field(compare=False, default="")


def _numbers(rng: random.Random, count: int, abroad: bool) -> list[str]:
    plans = NATIONAL + (ABROAD if abroad else [])
    numbers = []
    for _ in range(count):
        prefix, digits = rng.choice(plans)
        numbers.append(prefix + str(rng.randrange(2 * 10 ** (digits - 1), 10**digits)))
    return numbers


def normal_calls(rng: random.Random, accounts: int, weeks: int) -> tuple[list[Call], dict[str, str]]:
    calls: list[Call] = []
    profiles: dict[str, str] = {}
    kinds = ["office"] * 55 + ["shop"] * 25 + ["allday"] * 12 + ["night"] * 8
    for index in range(accounts):
        kind = kinds[index % len(kinds)]
        account = f"{kind}-{index:03d}"
        profiles[account] = kind
        days, first, last, rate = PROFILES[kind]
        rate *= rng.uniform(0.5, 1.5)
        numbers = _numbers(rng, 25, abroad=rng.random() < 0.4)
        for day in range(weeks * 7):
            if day % 7 not in days:
                continue
            for hour in range(first, last):
                base = START + day * 86400 + hour * 3600
                for _ in range(_poisson(rng, rate)):
                    seconds = min(1800.0, rng.expovariate(1 / 180))
                    calls.append(Call(base + rng.uniform(0, 3600), account, rng.choice(numbers), seconds))
    return calls, profiles


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, 2.718281828 ** (-mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def attacks(rng: random.Random, weeks: int) -> list[Call]:
    last = START + (weeks - 1) * WEEK
    calls: list[Call] = []
    # Weekend PBX hack: Saturday 01:00, 10 channels redialling 30-45 min calls for 40 hours.
    for channel in range(10):
        t = last + 5 * 86400 + 3600 + channel * 7
        while t < last + 5 * 86400 + 41 * 3600:
            seconds = rng.uniform(1800, 2700)
            number = rng.choice(["00252", "0053", "00882", "00239"]) + str(
                rng.randrange(10_000_000, 99_999_999)
            )
            calls.append(Call(t, "office-000", number, seconds, "hack"))
            t += seconds + rng.uniform(2, 10)
    # Slow business-hours attack: Tuesday from 09:00, one call at a time to Latvian/Lithuanian mobiles.
    t = last + 86400 + 9 * 3600
    while t < last + 86400 + 17 * 3600:
        seconds = rng.uniform(900, 1500)
        number = rng.choice(["003712", "003706"]) + str(rng.randrange(1_000_000, 9_999_999))
        calls.append(Call(t, "office-001", number, seconds, "slow"))
        t += seconds + rng.uniform(30, 120)
    # Wangiri: Wednesday 11:00, 12 accounts call back one Jamaican number within 40 minutes.
    lure = "001876" + str(rng.randrange(2_000_000, 9_999_999))
    for index in range(12):
        account = f"shop-{57 + index * 2:03d}"  # shop accounts: indexes 55-79 of every 100
        calls.append(Call(last + 2 * 86400 + 11 * 3600 + index * 200, account, lure, 50.0, "wangiri"))
    return calls


def traps(rng: random.Random, weeks: int, normal: list[Call]) -> list[Call]:
    last = START + (weeks - 1) * WEEK
    extra: list[Call] = []
    # Campaign: office-002 makes 3x its normal calls on Thursday, to its usual numbers.
    usual = [call.destination for call in normal if call.account == "office-002"][:25]
    thursday = [
        c for c in normal if c.account == "office-002" and last + 3 * 86400 <= c.start < last + 4 * 86400
    ]
    for call in thursday:
        for _ in range(2):
            extra.append(
                Call(
                    call.start + rng.uniform(-1800, 1800),
                    call.account,
                    rng.choice(usual),
                    call.seconds,
                    "campaign",
                )
            )
    # A one-off call to a new country (Japan) in business hours.
    extra.append(Call(last + 2 * 86400 + 14 * 3600, "office-003", "0081312345678", 420.0, "one-off"))
    # Conference calls of 2-3 hours: a whole CDR at its end must not look like hours spent in 5 minutes.
    extra.append(Call(last + 3 * 86400 + 9 * 3600, "office-004", "030" + "2" * 8, 150 * 60.0, "conference"))
    extra.append(Call(last + 86400 + 13 * 3600, "office-005", "0033140000000", 180 * 60.0, "conference"))
    extra.append(Call(last + 2 * 86400 + 15 * 3600, "office-006", "00551133334444", 120 * 60.0, "conference"))
    return extra


def build(seed: int = 7, accounts: int = 200, weeks: int = 4) -> tuple[list[Call], dict[str, str]]:
    rng = random.Random(seed)
    normal, profiles = normal_calls(rng, accounts, weeks)
    calls = normal + attacks(rng, weeks) + traps(rng, weeks, normal)
    calls.sort()
    for index, call in enumerate(calls):
        call.call_id = f"c{index}"
    return calls, profiles


@dataclass
class Outcome:
    alerts: list[Alert] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)
    allowed: dict[str, float] = field(default_factory=dict)  # tag -> cost of calls that got through
    allowed_calls: list[tuple[float, str, str, float]] = field(
        default_factory=list
    )  # start, tag, account, cost
    denied: dict[str, int] = field(default_factory=dict)
    first_attack: dict[str, float] = field(default_factory=dict)
    cdrs: int = 0


def simulate(engine: FraudEngine, calls: list[Call], live: bool = False) -> Outcome:
    """Event-driven replay: authorize at call start, live events if asked, the CDR at hang-up."""
    outcome = Outcome()
    events: list[tuple[float, int, int, Call]] = []  # (time, kind, seq, call): kind 0 start 1 answer 2 end
    for seq, call in enumerate(calls):
        events.append((call.start, 0, seq, call))
    heapq.heapify(events)
    seq = len(calls)
    while events:
        now, kind, _, call = heapq.heappop(events)
        out: list[Alert | Restriction] = []
        if kind == 0:
            outcome.first_attack.setdefault(call.tag, now)
            if not engine.authorize(call.account, call.destination, now).allow:
                outcome.denied[call.tag] = outcome.denied.get(call.tag, 0) + 1
                continue
            cost = engine.rater.cost(call.destination, call.seconds)
            outcome.allowed[call.tag] = outcome.allowed.get(call.tag, 0.0) + cost
            if call.tag != "normal":
                outcome.allowed_calls.append((now, call.tag, call.account, cost))
            if live:
                out += engine.on_call_start(call.call_id, call.account, call.destination, now)
                heapq.heappush(events, (now + 5, 1, seq, call))
            heapq.heappush(events, (now + 5 + call.seconds, 2, seq + 1, call))
            seq += 2
        elif kind == 1:
            out += engine.on_call_answer(call.call_id, now)
        else:
            if live:
                out += engine.on_call_end(call.call_id, now)
            out += engine.on_cdr(
                Cdr(
                    account=call.account,
                    destination=call.destination,
                    start=call.start,
                    end=now,
                    billsec=call.seconds,
                    call_id=call.call_id,
                )
            )
            outcome.cdrs += 1
        for record in out:
            (outcome.alerts if isinstance(record, Alert) else outcome.restrictions).append(record)  # type: ignore[arg-type]
    return outcome


def cdr_lines(calls: list[Call]) -> Iterator[str]:
    """Asterisk Master.csv lines (16 columns, UTC) for the calls, in hang-up order: bench input."""
    from datetime import UTC, datetime

    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")

    for call in sorted(calls, key=lambda c: c.start + c.seconds):
        end = call.start + 5 + call.seconds
        head = f'"{call.account}","100","{call.destination}","from-internal","","PJSIP/100-1","PJSIP/t-2",'
        times = f'"Dial","","{stamp(call.start)}","{stamp(call.start + 5)}","{stamp(end)}",'
        yield head + times + f'{int(end - call.start)},{int(call.seconds)},"ANSWERED","DOCUMENTATION"\n'
