#!/usr/bin/env python3
"""Plain-HTTP endpoint that accepts POSTed JSON (a fake phone 'telemetry'
collector). Bounded: serves at most MAXREQ requests or SECONDS.
usage: http_sink.py HOST PORT SECONDS [MAXREQ]"""
import http.server
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
maxreq = int(sys.argv[4]) if len(sys.argv) > 4 else 5


class H(http.server.BaseHTTPRequestHandler):
    server_version = "phonewarden-lab-collector/1.0"
    sys_version = ""
    count = 0

    def do_POST(self):
        H.count += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(f"http_sink: POST {self.path} {len(body)} bytes", flush=True)
        out = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST

    def log_message(self, *a):
        pass


srv = http.server.HTTPServer((host, port), H)
srv.timeout = 0.5
end = time.time() + secs
while time.time() < end and H.count < maxreq:
    srv.handle_request()
srv.server_close()
print(f"http_sink: served {H.count} requests", flush=True)
