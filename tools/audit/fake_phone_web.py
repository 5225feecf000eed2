#!/usr/bin/env python3
"""A phone web UI for tests: behaves like a vendor's login page, logs every credential attempt.

  yealink      GET /servlet?p=login&q=loginForm shows the form (or "locked"); POST /servlet?p=login&q=login
               with username/pwd: 302 to /servlet?p=status&q=load when right; after --lockout failures the UI
               is locked (Yealink: 3 failures, ~10 minutes).
  snom         GET / answers 401 when --password is set, else 200 with the settings page (Snom's default).
  grandstream  POST /cgi-bin/dologin: {"response":"success"} or {"response":"error"}.

Each credential attempt is appended to --log as one JSON line. Runs until killed (tests own the process).
"""

from __future__ import annotations

import argparse
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
        }[args.vendor]

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
            else:
                self._send(200, "<html><title>Grandstream GXP1625</title></html>")

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
                self._send(404, "not found")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendor", choices=["yealink", "snom", "grandstream"], required=True)
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
