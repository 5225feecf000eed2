#!/usr/bin/env python3
"""A phone web UI for tests: behaves like a vendor's login page, logs every credential attempt.

  yealink      GET /servlet?p=login&q=loginForm shows the form (or "locked"); POST /servlet?p=login&q=login
               with username/pwd: 302 to /servlet?p=status&q=load when right; after --lockout failures the UI
               is locked (Yealink: 3 failures, ~10 minutes).
  snom         GET / answers 401 when --password is set, else 200 with the settings page (Snom's default).
  grandstream  POST /cgi-bin/dologin: {"response":"success"} or {"response":"error"}.
  poly         GET / and /login.htm show "Polycom Web Configuration Utility"; GET /auth.htm answers 401
               without credentials, 200 "Polycom - VVX 500 Configuration Utility" for HTTP Basic
               Admin/--password, 401 otherwise (ztgrace/changeme polycom_vvx_500.yml; reference notes §5).
               No Poly lockout is documented, so none is emulated.
  fanvil       GET / shows a Fanvil X4 login page. The notes document no login flow or lockout, so any
               POST with a body or any Authorization header counts as a credential attempt ("admin" and
               --password accepted, as the unverified admin/admin default).

Each credential attempt is appended to --log as one JSON line, also stray ones (an Authorization header
or a POST body the vendor's flow does not expect: outcome "unexpected"), so tests can count every
credential sent. Runs until killed (tests own the process).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LOCK = threading.Lock()


def make_handler(args: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    state = {"failures": args.failures}

    def log_attempt(user: str, password: str, outcome: str) -> None:
        with LOCK, open(args.log, "a", encoding="utf-8") as log:
            log.write(
                json.dumps({"vendor": args.vendor, "user": user, "password": password, "outcome": outcome})
                + "\n"
            )

    class Handler(BaseHTTPRequestHandler):
        server_version = {
            "yealink": "yealink embed httpd",
            "snom": "snom embedded",
            "grandstream": "lighttpd",
            "poly": "httpd",
            "fanvil": "httpd",
        }[args.vendor]

        def _basic_credentials(self) -> tuple[str, str] | None:
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            if not scheme:
                return None
            try:
                user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "?", token
            return user, password

        def log_message(self, *_: object) -> None:
            pass

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            credentials = self._basic_credentials()
            if args.vendor == "poly" and self.path == "/auth.htm":
                self._poly_auth(credentials)
                return
            if credentials is not None:
                ok = args.vendor == "fanvil" and credentials == ("admin", args.password)
                log_attempt(*credentials, "accepted" if ok else "unexpected")
            if args.redirect_https and not args.tls:
                self._send(302, "", {"Location": f"https://{self.headers.get('Host', '')}/"})
            elif args.vendor == "yealink":
                locked = args.lockout and state["failures"] >= args.lockout
                text = "The web UI is locked, please try again later" if locked else "Yealink login form"
                self._send(200, f"<html><title>Yealink T46S</title><body>{text}</body></html>")
            elif args.vendor == "snom":
                if args.password:
                    self._send(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="snom"'})
                else:
                    self._send(200, "<html><title>snom D785</title><body>Settings</body></html>")
            elif args.vendor == "poly":
                self._send(200, "<html><title>Polycom Web Configuration Utility</title></html>")
            elif args.vendor == "fanvil":
                self._send(200, "<html><title>Fanvil X4</title><body>Login: user, password</body></html>")
            else:
                self._send(200, "<html><title>Grandstream GXP1625</title></html>")

        def _poly_auth(self, credentials: tuple[str, str] | None) -> None:
            challenge = {"WWW-Authenticate": 'Basic realm="PolycomVVX"'}
            if credentials is None:
                self._send(401, "Unauthorized", challenge)
            elif credentials == ("Admin", args.password):
                log_attempt(*credentials, "accepted")
                self._send(200, "<html><title>Polycom - VVX 500 Configuration Utility</title></html>")
            else:
                log_attempt(*credentials, "refused")
                self._send(401, "Unauthorized", challenge)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length", "0") or 0), 4096)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if args.vendor == "yealink" and self.path.startswith("/servlet?p=login&q=login"):
                user, password = form.get("username", ""), form.get("pwd", "")
                if args.lockout and state["failures"] >= args.lockout:
                    log_attempt(user, password, "locked")
                    self._send(200, "locked")
                elif password == args.password:
                    log_attempt(user, password, "accepted")
                    self._send(302, "", {"Location": "/servlet?p=status&q=load"})
                else:
                    state["failures"] += 1
                    log_attempt(user, password, "refused")
                    self._send(200, "Yealink login form: wrong user name or password")
            elif args.vendor == "grandstream" and self.path == "/cgi-bin/dologin":
                user, password = form.get("username", ""), form.get("password", "")
                ok = password == args.password
                log_attempt(user, password, "accepted" if ok else "refused")
                self._send(200, json.dumps({"response": "success" if ok else "error"}))
            else:
                if form or self.headers.get("Authorization"):
                    user = form.get("username", form.get("user", "?"))
                    password = next((v for k, v in form.items() if "pass" in k or "pwd" in k), "?")
                    ok = args.vendor == "fanvil" and (user, password) == ("admin", args.password)
                    log_attempt(user, password, "accepted" if ok else "unexpected")
                self._send(404, "not found")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--vendor", choices=["yealink", "snom", "grandstream", "poly", "fanvil"], required=True
    )
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", default="", help="the admin password the UI accepts")
    parser.add_argument("--lockout", type=int, default=0, help="lock after this many failures (0 = never)")
    parser.add_argument("--failures", type=int, default=0, help="failures already counted at start")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--redirect-https", action="store_true")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    handler = make_handler(args)
    server = ThreadingHTTPServer((args.bind, args.port), handler)
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
