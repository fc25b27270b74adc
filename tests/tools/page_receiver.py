#!/usr/bin/env python3
"""A webhook receiver for the paging tests (tests/unit/test_page.c).

Listens on 127.0.0.1 (a free port, printed on stdout as the first line),
records every request as one JSON line in the --log file (method, path,
headers, body, and whether the body was valid UTF-8) before it answers,
and answers the first requests with the --statuses given in order, then
every later one with --default. --delay holds each answer that long, for
tests that need a transfer still on the wire. --print writes one line per
page on stderr (the demo's terminal shows the pages as they come).
"""
import argparse
import json
import sys
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


LOCK = threading.Lock()


def show(body):
    """One line for a person: who is paged, for what, and how to acknowledge."""
    try:
        p = json.loads(body)
    except ValueError:
        p = {"summary": body[:120]}
    if not isinstance(p, dict):
        p = {"summary": str(p)[:120]}
    line = "PAGE %s %s to %s [%s %s]: %s" % (
        time.strftime("%H:%M:%S"), p.get("event") or "?", p.get("recipient") or "?",
        p.get("severity") or "?", p.get("site") or "-", p.get("summary") or "")
    if p.get("ack_url") and p.get("event") == "trigger":
        line += "\n     acknowledge: " + p["ack_url"]
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def make_handler(args, statuses):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body, utf8 = raw.decode("utf-8"), True
            except UnicodeDecodeError:
                body, utf8 = raw.decode("utf-8", "replace"), False
            record = {"method": self.command, "path": self.path,
                      "headers": {k: v for k, v in self.headers.items()},
                      "body": body, "utf8": utf8}
            with LOCK, open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            if args.print:
                show(body)
            time.sleep(args.delay)
            with LOCK:
                status = statuses.pop(0) if statuses else args.default
            reply = b'{"status":"recorded"}'
            self.send_response(status)
            if status in (429, 503):
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *a):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--log", required=True)
    ap.add_argument("--statuses", default="", help="e.g. 503,202: the first answers")
    ap.add_argument("--default", type=int, default=202)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--print", action="store_true", help="a line per page on stderr")
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",") if s]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args, statuses))
    sys.stdout.write("%d\n" % server.server_address[1])  # one write: the port line
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
