#!/usr/bin/env python3
"""A couponbatch webhook receiver for tests and benchmarks, and an example for real receivers.

It verifies every request's Couponbatch-Signature header exactly as a production receiver should:

    t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the shared secret>

(constant-time comparison, timestamps more than 5 minutes off refused), then answers as scripted.

    webhook_receiver.py --secret-env VAR [--script 500,429:2,hang:3,drop,400,200] [--then 200] [--log FILE]

--script lists the answers to the first requests in order; later requests get --then (default 200).
Answers: a status code (200, 500, 400, …), 429:N / 503:N (with Retry-After: N), hang:N (say nothing
for N seconds, then close), drop (close the connection without an answer). A request whose signature
does not verify gets 401 and does not use up a scripted answer. Prints "listening PORT" once ready;
with --log, writes one JSON line per request: {"t", "answer", "signature_ok", "ids"}.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_ok(secret: bytes, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-env", required=True)
    parser.add_argument("--script", default="")
    parser.add_argument("--then", default="200")
    parser.add_argument("--log")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # Stop on SIGTERM even when started with it ignored.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    secret = os.environ[args.secret_env].encode()
    script = [a for a in args.script.split(",") if a]
    lock = threading.Lock()
    log = open(args.log, "a", buffering=1) if args.log else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def record(self, answer, ok, ids):
            if log:
                with lock:
                    log.write(json.dumps({"t": time.time(), "answer": answer, "signature_ok": ok, "ids": ids}) + "\n")

        def reply(self, status, headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = signature_ok(secret, self.headers.get("Couponbatch-Signature", ""), body)
            try:
                ids = [n["id"] for n in json.loads(body)["notifications"]]
            except Exception:
                ids = None
            if not ok:
                self.record("401", False, ids)
                self.reply(401)
                return
            with lock:
                answer = script.pop(0) if script else args.then
            self.record(answer, True, ids)
            if answer == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif answer.startswith("hang:"):
                time.sleep(float(answer[5:]))
                self.close_connection = True
            elif ":" in answer:
                status, after = answer.split(":", 1)
                self.reply(int(status), [("Retry-After", after)])
            else:
                self.reply(int(answer))

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
