"""The shield composed: detectors -> policy -> (store, enforcers). Replay, live, CLI and API all use it.

`process(record)` is pure apart from its own bounded state and event time: it returns findings and
decisions ("ban", and "extend" when a banned source earns a new reason). Side effects happen only in
`apply(decision)`, `unban` and `allow`, which replay never calls.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from phonewarden.core.clock import EventClock
from phonewarden.core.records import iso_time
from phonewarden.shield.bans import BanRow, BanStore
from phonewarden.shield.detect_bruteforce import BruteForceDetector
from phonewarden.shield.detect_enum import EnumerationDetector
from phonewarden.shield.detect_flood import FloodDetector
from phonewarden.shield.detect_malformed import MalformedDetector
from phonewarden.shield.detect_scanner import ScannerDetector
from phonewarden.shield.detect_tollfraud import TollFraudDetector
from phonewarden.shield.enforce import Enforcer, canonical
from phonewarden.shield.findings import Finding, Reporter, source_key
from phonewarden.shield.policy import Decision, Policy, covering, parse_network
from phonewarden.shield.settings import ShieldSettings
from phonewarden.shield.transactions import Outcome, TransactionMatcher
from phonewarden.wire.sip_values import to_int
from phonewarden.wire.traffic import TrafficDecoder

log = logging.getLogger(__name__)
Output = Finding | Decision
# Frames decoded per batch in replay(). Decoding a few dozen frames, then running the detectors over their
# records, keeps each stage's code and tables in the CPU caches: measured 15% faster than alternating
# per frame (bench/shield_replay.py), with the same records in the same order.
REPLAY_BATCH = 64


@dataclass(slots=True)
class Summary:
    time: float
    records: int
    sip_messages: int
    findings: dict[str, int]
    banned: dict[str, list[str]]
    suppressed: dict[str, str]
    dry_run: bool
    late_records: int
    state: dict[str, int] = field(default_factory=dict)

    type = "summary"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "time": iso_time(self.time),
            "records": self.records,
            "sip_messages": self.sip_messages,
            "findings": self.findings,
            "bans": len(self.banned),
            "banned": sorted(self.banned),
            "suppressed": self.suppressed,
            "dry_run": self.dry_run,
            "late_records": self.late_records,
            "state": self.state,
        }


class ShieldService:
    def __init__(
        self,
        settings: ShieldSettings,
        *,
        store: BanStore | None = None,
        enforcers: list[Enforcer] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.enforcers = list(enforcers or [])
        self.policy = Policy(settings)
        self.clock = EventClock()
        limit, samples = settings.max_sources, settings.evidence_samples

        def reporter(name: str, window: float) -> Reporter:
            return Reporter(name, window, limit, samples)

        s = settings
        self.scanner = ScannerDetector(reporter("scanner", s.scanner_ban_s))
        self.flood = FloodDetector(
            reporter("flood", s.flood_window_s * 5), s.flood_requests, s.flood_window_s, limit,
            s.flood_method_requests,
        )  # fmt: skip
        self.malformed = MalformedDetector(
            reporter("malformed", s.malformed_window_s), s.malformed_messages, s.malformed_window_s, limit
        )
        self.toll = TollFraudDetector(
            reporter("toll-fraud", s.toll_window_s),
            s.toll_distinct_numbers,
            s.toll_window_s,
            limit,
            s.home_region,
        )
        self.brute = BruteForceDetector(
            reporter("brute-force", s.auth_window_s), s.auth_failures, s.auth_window_s, limit
        )
        self.enum = EnumerationDetector(
            reporter("enumeration", s.enum_window_s), s.enum_distinct_users, s.enum_window_s, limit,
            s.enum_challenged_users,
        )  # fmt: skip
        self.matcher = TransactionMatcher(s.max_pending_transactions)
        self.records = 0
        self.sip_messages = 0
        self.finding_counts: Counter[str] = Counter()
        self.banned: dict[str, list[str]] = {}
        self.suppressed: dict[str, str] = {}

    # --- the pure part ------------------------------------------------------------------------

    def replay(self, frames: Iterable[Any], decoder: TrafficDecoder) -> Iterator[Output]:
        """process() every record that `decoder` makes of `frames`, in order, decoding in batches of
        REPLAY_BATCH frames. If reading the frames fails, the frames read before are processed first."""
        remaining = iter(frames)
        while True:
            batch: list[Any] = []
            try:
                for frame in remaining:
                    batch.append(frame)
                    if len(batch) == REPLAY_BATCH:
                        break
            except Exception:
                yield from self._process_frames(batch, decoder)
                raise
            if not batch:
                return
            yield from self._process_frames(batch, decoder)

    def _process_frames(self, frames: list[Any], decoder: TrafficDecoder) -> Iterator[Output]:
        process = self.process
        for record in decoder.feed_batch(frames):
            outputs = process(record)
            if outputs:  # most records make none
                yield from outputs

    def process(self, record: Any) -> list[Output]:
        """Findings and decisions from one record; anything that is not a SIP record (a live `Frame`,
        DNS, HTTP) is counted and ignored."""
        self.records += 1
        if getattr(record, "type", None) != "sip":
            return []
        self.sip_messages += 1
        message = record.body
        now = self.clock.observe(record.time)
        if message.status is None:  # a request, or something that failed to be one
            key = source_key(record.segment.src)
            call_id, cseq_text = message.call_id_and_cseq()
            cseq = None
            if call_id is not None and cseq_text:
                parts = cseq_text.split(None, 1)
                cseq = to_int(parts[0]) if parts else None
            is_request = message.is_request
            flood = self.flood.observe(key, message, now)
            # The detectors' own first checks are made here, which saves most messages two calls.
            malformed = scanner = toll = None
            if not is_request or cseq is None:  # the malformed detector passes well-formed requests
                malformed = self.malformed.observe(key, message, now, False)
            if is_request:
                scanner = self.scanner.observe(key, message, now)
                if message.method == "INVITE":  # the toll-fraud detector looks at INVITEs only
                    toll = self.toll.observe(key, message, now)
                # bytes.lower() is str.lower() of the latin-1 text for every ASCII letter and makes none
                credentials = b"authorization" in message.raw.lower()
                self.matcher.request(key, message, now, call_id, cseq, credentials)
            if flood is None and malformed is None and scanner is None and toll is None:
                return []
            found: tuple[Finding | None, ...] = (flood, malformed, scanner, toll)
        else:
            outcome = self.matcher.response(message, now)
            if outcome is None:
                return []
            # Without credentials only a 403 is a failed authentication: brute force has nothing else to see.
            brute = self.brute.observe(outcome, now) if outcome.credentials or outcome.status == 403 else None
            enum = self.enum.observe(outcome, now)
            if outcome.succeeded:
                self._note_success(outcome, now)
            if brute is None and enum is None:
                return []
            found = (brute, enum)
        outputs: list[Output] = []
        for finding in found:
            if finding is not None:
                outputs.append(finding)
                outputs.extend(self._decide(finding))
                # A username guessed at from many addresses: the ones that guessed before the limit, too.
                for earlier in self.brute.earlier_guessers(finding):
                    outputs.append(earlier)
                    outputs.extend(self._decide(earlier))
        return outputs

    def _note_success(self, outcome: Outcome, now: float) -> None:
        if not outcome.succeeded:
            return
        if outcome.method == "REGISTER" and outcome.expires:
            self.policy.note_success(outcome.source, now, f"registered {outcome.user}", outcome.expires)
        elif outcome.credentials:
            self.policy.note_success(outcome.source, now, f"authenticated {outcome.user}")

    def _decide(self, finding: Finding) -> list[Output]:
        self.finding_counts[finding.detector] += 1
        decision = self.policy.decide(finding)
        if decision.action == "suppressed":
            self.suppressed[finding.source] = decision.why
            log.info("shield: not banning %s (%s): %s", finding.source, decision.why, finding.reason)
            return []
        if decision.action == "ban":
            self.banned[decision.source] = decision.reasons
            return [decision]
        if decision.action == "extend" and decision.reasons != self.banned.get(decision.source):
            self.banned[decision.source] = decision.reasons
            return [decision]  # the stored ban gets the new reason (apply)
        return []

    def summary(self) -> Summary:
        state = {
            "pending_transactions": len(self.matcher.pending),
            **self.flood.sizes(),
            "flood_overflows": self.flood.requests.overflows,
            "evictions": self.flood.requests.evictions
            + sum(bucket.evictions for bucket in self.flood.per_method.values())
            + self.matcher.pending.evictions,
            "unmatched_responses": self.matcher.unmatched,
        }
        return Summary(
            self.clock.now, self.records, self.sip_messages, dict(self.finding_counts), dict(self.banned),
            dict(self.suppressed), self.settings.dry_run, self.clock.late, state,
        )  # fmt: skip

    # --- side effects -------------------------------------------------------------------------

    def apply(self, decision: Decision) -> None:
        """Persist and enforce a ban decision; a dry-run one is stored marked and logged, never enforced.
        An "extend" adds its reasons to the stored ban and leaves the expiry alone."""
        if decision.action == "extend":
            if self.store is not None:
                self.store.add_reasons(decision.source, decision.reasons)
            return
        if decision.action != "ban":
            return
        reason = "; ".join(decision.reasons)
        if decision.dry_run:
            log.warning("shield: would ban %s for %d s: %s", decision.source, decision.duration_s, reason)
            if self.store is not None:
                self.store.save_ban(
                    decision.source, decision.duration_s, decision.reasons, decision.offences, dry_run=True
                )
            return
        if self.store is not None:
            self.store.save_ban(decision.source, decision.duration_s, decision.reasons, decision.offences)
        for enforcer in self.enforcers:
            try:
                enforcer.ban(decision.source, decision.duration_s, reason)
            except Exception:  # one broken back-end must not stop the others
                log.exception("shield: %s could not ban %s", enforcer.name, decision.source)

    def load(self) -> list[BanRow]:
        """Allowed networks, running bans and the offences of ended ones from the store into the policy;
        call before records flow. Returns the running bans the enforcers must get (never dry-run ones);
        would-be bans count in the policy only while the shield is itself in dry-run."""
        if self.store is None:
            return []
        self.policy.set_allowed(self.store.allowed())
        dry_run = self.settings.dry_run
        # Live event time follows the HEP agents' clocks; before the first record only the wall clock can
        # say when a stored ban ends (or ended).
        now_event = self.clock.now or time.time()
        wall = datetime.now(UTC)
        for row in self.store.ended_bans():
            if dry_run or not row.dry_run:
                ended_ago = (wall - row.expires_at).total_seconds()
                self.policy.restore(row.address, row.offences, now_event - ended_ago, row.reasons, now_event)
        rows = self.store.active_bans(include_dry_run=dry_run)
        for row in rows:
            left = row.seconds_left(wall)
            self.policy.restore(row.address, row.offences, now_event + left, row.reasons, now_event)
        return [row for row in rows if not row.dry_run]

    def reapply(self, rows: list[BanRow]) -> None:
        """Remove expired bans everywhere and put the loaded ones back into every enforcer."""
        self.sweep()
        wall = datetime.now(UTC)
        for row in rows:
            left = int(row.seconds_left(wall))
            if left < 1:
                continue
            for enforcer in self.enforcers:
                try:
                    enforcer.ban(row.address, left, "; ".join(row.reasons))
                except Exception:
                    log.exception("shield: %s could not re-apply ban of %s", enforcer.name, row.address)

    def restore(self) -> list[BanRow]:
        """At start, in one go: load() then reapply()."""
        rows = self.load()
        self.reapply(rows)
        return rows

    def sweep(self) -> list[str]:
        """Lift bans that ended in every back-end; the store keeps them until their offences decay."""
        if self.store is None:
            return []
        expired = self.store.end_expired(self.settings.decay_s)
        for address in expired:
            self._unban_everywhere(address)
        return expired

    def unban(self, address: str) -> bool:
        key = canonical(address)
        removed = self.store.remove_ban(key) if self.store is not None else False
        self.policy.forget(key, self.clock.now)
        self.banned.pop(key, None)
        self._unban_everywhere(key)
        return removed

    def allow(self, network: str, note: str = "") -> list[str]:
        """Never ban `network` again; lift the bans inside it. Returns the addresses unbanned."""
        text = str(parse_network(network))
        self.policy.allow(text)
        if self.store is not None:
            self.store.allow(text, note)
        lifted = self.lift_inside([text])
        for address in lifted:
            self.policy.forget(address, self.clock.now)
            self.banned.pop(address, None)
        return lifted

    def lift_inside(self, networks: list[str]) -> list[str]:
        """End the stored bans inside `networks` and lift them in every enforcer; the policy is left to
        the caller (the live shield touches it only from the thread that feeds records)."""
        if self.store is None or not networks:
            return []
        parsed = [parse_network(network) for network in networks]
        lifted = []
        for row in self.store.active_bans(include_dry_run=True):
            if covering(parsed, row.address) is not None:
                self.store.remove_ban(row.address)
                if not row.dry_run:
                    self._unban_everywhere(row.address)
                lifted.append(row.address)
        return lifted

    def _unban_everywhere(self, address: str) -> None:
        for enforcer in self.enforcers:
            try:
                enforcer.unban(address)
            except Exception:
                log.exception("shield: %s could not unban %s", enforcer.name, address)
