"""Log in (password, then TOTP or a recovery code), first-login enrolment, log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phonewarden.console.accounts import AccountError, LoginRefused
from phonewarden.console.auth import (
    SESSION_COOKIE,
    actor_of,
    check_csrf,
    client_address,
    context,
    find_principal,
    now_utc,
)
from phonewarden.console.passwords import PasswordPolicyError
from phonewarden.console.second_factor import svg_qr
from phonewarden.console.sessions import Principal
from phonewarden.console.shell import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=512)]


def _set_cookie(request: Request, response: Response, token: str) -> None:
    policy = context(request).policy
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, secure=policy.secure_cookies, samesite="strict", path="/",
        max_age=int(policy.absolute_timeout_s),
    )  # fmt: skip


def _pending(request: Request, stage: str) -> Principal:
    """The half-logged-in principal of this browser at `stage`, else back to the login form."""
    principal = find_principal(request)
    if principal is None or principal.via != "session" or principal.stage != stage:
        raise HTTPException(303, headers={"Location": "/login"})
    return principal


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"no_users": context(request).accounts.count() == 0})


@router.post("/login")
def login(request: Request, name: Text, password: Text) -> Response:
    ctx = context(request)
    actor = actor_of(request, None)
    if not ctx.login_allowed(client_address(request)):
        ctx.accounts.audit(actor, "login", name, outcome="denied", reason="rate limit")
        return render(
            request, "login.html", {"error": "too many attempts from your address: wait a minute"}, status=429
        )
    try:
        user = ctx.accounts.check_password(name.strip(), password, actor, now_utc())
    except LoginRefused as exc:
        return render(request, "login.html", {"error": str(exc), "name": name}, status=401)
    token = ctx.sessions.open(user.id, "enrol" if user.must_enrol else "password", now_utc())
    response = RedirectResponse("/enrol" if user.must_enrol else "/login/code", status_code=303)
    _set_cookie(request, response, token)
    return response


@router.get("/login/code", response_class=HTMLResponse)
def code_form(request: Request) -> HTMLResponse:
    return render(request, "login_code.html", {"pending": _pending(request, "password")})


@router.post("/login/code")
async def code(request: Request, code: Text) -> Response:
    principal = _pending(request, "password")
    await check_csrf(request, principal)
    ctx = context(request)
    try:
        ctx.accounts.check_second_factor(principal.user_id, code, actor_of(request, principal), now_utc())
    except LoginRefused as exc:
        return render(request, "login_code.html", {"pending": principal, "error": str(exc)}, status=401)
    ctx.sessions.promote(request.cookies[SESSION_COOKIE], "full")
    return RedirectResponse("/overview", status_code=303)


@router.get("/enrol", response_class=HTMLResponse)
def enrol_form(request: Request) -> HTMLResponse:
    principal = _pending(request, "enrol")
    uri = context(request).accounts.enrolment_uri(principal.user_id)
    return render(request, "enrol.html", {"pending": principal, "uri": uri, "qr": svg_qr(uri)})


@router.post("/enrol")
async def enrol(request: Request, new_password: Text, repeat: Text, code: Text) -> Response:
    principal = _pending(request, "enrol")
    await check_csrf(request, principal)
    ctx = context(request)
    uri = ctx.accounts.enrolment_uri(principal.user_id)
    page = {"pending": principal, "uri": uri, "qr": svg_qr(uri)}
    if new_password != repeat:
        return render(request, "enrol.html", {**page, "error": "the two passwords differ"}, status=400)
    try:
        codes = ctx.accounts.complete_enrolment(
            principal.user_id, new_password, code, actor_of(request, principal), now_utc()
        )
    except (AccountError, PasswordPolicyError) as exc:
        return render(request, "enrol.html", {**page, "error": str(exc)}, status=400)
    ctx.sessions.promote(request.cookies[SESSION_COOKIE], "full")
    full = find_principal(request)
    return render(request, "recovery_codes.html", {"codes": codes}, principal=full)


@router.get("/account", response_class=HTMLResponse)
def account_form(request: Request) -> Response:
    principal = find_principal(request)
    if principal is None or principal.stage != "full" or principal.via != "session":
        return RedirectResponse("/login", status_code=303)
    return render(request, "account.html", {}, principal=principal)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request, current: Text, new_password: Text, repeat: Text) -> Response:
    principal = find_principal(request)
    if principal is None or principal.stage != "full" or principal.via != "session":
        return RedirectResponse("/login", status_code=303)
    await check_csrf(request, principal)
    if new_password != repeat:
        return render(
            request, "account.html", {"error": "the two passwords differ"}, principal=principal, status=400
        )
    try:
        context(request).accounts.change_password(
            principal.user_id, current, new_password, actor_of(request, principal), now_utc()
        )
    except (AccountError, PasswordPolicyError) as exc:
        return render(request, "account.html", {"error": str(exc)}, principal=principal, status=400)
    return render(request, "account.html", {"changed": True}, principal=principal)


@router.post("/logout")
async def logout(request: Request) -> Response:
    principal = find_principal(request)
    token = request.cookies.get(SESSION_COOKIE)
    if principal is not None and token:
        await check_csrf(request, principal)
        context(request).sessions.close(token)
        context(request).accounts.audit(actor_of(request, principal), "logout", principal.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
