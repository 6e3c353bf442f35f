#!/usr/bin/env python3
"""A webhook receiver for the notification e2e test: HTTPS on loopback (its own certificate),
every request appended to a JSON-lines log (headers, body, the status answered). It does not
verify anything itself: the test does, as a receiver would, with the shared secret.

Usage: webhook_receiver.py --port N --cert PEM --key PEM --log FILE [--fail-first K]
(the first K requests are answered 503, as a receiver that is briefly down)."""
import argparse
import http.server
import json
import ssl
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--fail-first", type=int, default=0)
args = ap.parse_args()
lock = threading.Lock()
seen = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen[0] += 1
            status = 503 if seen[0] <= args.fail_first else 200
            with open(args.log, "a") as f:
                f.write(json.dumps({"path": self.path, "status": status,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body.decode()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
