"""FreeSWITCH mod_json_cdr documents (files or HTTP push) and generic JSON objects -> `Cdr`.

mod_json_cdr POSTs to `url?uuid=...` either the raw JSON (`encode=false`, application/json), or
`cdr=<url-encoded JSON>` (`encode=true`, form-urlencoded), or `cdr=<base64>` (`encode=base64`). With
`encode-values` (the default) every value under `variables` is URL-encoded as well.

With `log-b-leg` true mod_json_cdr also writes a document for every bridged B leg, which would count the
call twice: B legs are skipped. A B leg is a channel with an originator (mod_json_cdr's own test,
`switch_channel_get_originator_caller_profile`), which the document shows as an `originator` object in
a callflow's `caller_profile`, and by the variable `originating_leg_uuid` that only B legs carry.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote

import msgspec

from phonewarden.fraud.cdr import Cdr, CdrRowError, parse_epoch, parse_number
from phonewarden.fraud.readers_csv import GenericCsv

MAX_PUSH_BYTES = 1 << 20


def decode_push_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON object in a mod_json_cdr POST body, whichever `encode` setting sent it."""
    if len(body) > MAX_PUSH_BYTES:
        raise CdrRowError(f"body of {len(body)} bytes is over the {MAX_PUSH_BYTES} byte limit")
    kind = content_type.split(";")[0].strip().lower()
    text = body
    if kind in ("application/x-www-form-urlencoded", "application/x-www-form-base64-encoded"):
        try:
            values = parse_qs(body.decode("ascii"), keep_blank_values=True).get("cdr")
        except UnicodeDecodeError as exc:
            raise CdrRowError("form body is not ASCII") from exc
        if not values:
            raise CdrRowError("form body has no cdr= field")
        if kind.endswith("base64-encoded"):
            try:
                # FreeSWITCH sends the base64 text unescaped, so '+' arrives as a space.
                text = base64.b64decode(values[0].replace(" ", "+"), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CdrRowError("cdr= field is not valid base64") from exc
        else:
            text = values[0].encode()
    try:
        document = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise CdrRowError(f"body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise CdrRowError("JSON CDR must be an object")
    return document


def _variable(variables: dict[str, Any], name: str) -> str:
    value = variables.get(name)
    return unquote(str(value)) if value is not None else ""


def is_b_leg(document: dict[str, Any]) -> bool:
    """A mod_json_cdr document of the B leg of a bridge (the A leg's document has the call)."""
    variables = document.get("variables")
    if isinstance(variables, dict) and variables.get("originating_leg_uuid"):
        return True
    callflow = document.get("callflow")
    flows = callflow if isinstance(callflow, list) else [callflow]
    return any(
        isinstance(flow, dict)
        and isinstance(flow.get("caller_profile"), dict)
        and isinstance(flow["caller_profile"].get("originator"), dict)
        for flow in flows
    )


def freeswitch_json_cdr(document: dict[str, Any]) -> Cdr:
    """One mod_json_cdr document -> Cdr (times from *_epoch, destination from the first caller profile)."""
    variables = document.get("variables")
    if not isinstance(variables, dict):
        raise CdrRowError("FreeSWITCH JSON CDR has no 'variables' object")
    profile: dict[str, Any] = {}
    callflow = document.get("callflow")
    flows = callflow if isinstance(callflow, list) else [callflow] if isinstance(callflow, dict) else []
    if flows and isinstance(flows[-1], dict) and isinstance(flows[-1].get("caller_profile"), dict):
        profile = flows[-1]["caller_profile"]  # the originating leg's profile is listed last
    end = parse_epoch(_variable(variables, "end_epoch"), "variables.end_epoch")
    start_text = _variable(variables, "start_epoch")
    start = parse_epoch(start_text, "variables.start_epoch") if start_text else end
    billsec_text = _variable(variables, "billsec")
    billsec = parse_number(billsec_text, "variables.billsec") if billsec_text else 0.0
    caller = str(profile.get("caller_id_number") or _variable(variables, "caller_id_number"))
    account = _variable(variables, "accountcode") or _variable(variables, "user_name") or caller
    if not account:
        raise CdrRowError("FreeSWITCH JSON CDR has no accountcode, user_name or caller number")
    destination = str(
        profile.get("destination_number") or _variable(variables, "destination_number")
    ) or _variable(variables, "sip_req_user")
    return Cdr(
        account=account, destination=destination, start=start, end=end, billsec=billsec,
        # the SIP Call-ID, as the live-call feed saw the INVITE; the channel uuid when there is none
        source=caller, call_id=_variable(variables, "sip_call_id") or _variable(variables, "uuid"),
        source_ip=_variable(variables, "sip_network_ip"),
    )  # fmt: skip


def json_object_cdr(document: dict[str, Any], generic: GenericCsv | None) -> Cdr | None:
    """A FreeSWITCH document when it looks like one (None for a B leg), else a generic object mapped
    by `generic`."""
    if isinstance(document.get("variables"), dict):
        return None if is_b_leg(document) else freeswitch_json_cdr(document)
    if generic is None:
        raise CdrRowError("JSON object is neither a FreeSWITCH CDR nor mappable (no generic fields)")
    return generic.from_mapping(document)
