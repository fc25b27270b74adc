#!/usr/bin/env python3
"""Acknowledged-write checker for the fault tests (DESIGN.md section 8).

A write answered 2xx must survive every fault: this tool writes, records each
acknowledged write, and later checks that the members hold all of them.

  acked.py writer --url URL [--url URL2] --token T --run-id R --out ACKED
                  [--ca CA] [--workers N] [--timeout S] [--duration S]
                  [--count N] [--stop-file PATH] [--interval S]
      PUTs Site objects R-0000001, R-0000002, ... one request at a time per
      worker. A 503 that names the primary ("not the primary", "primary":
      null) was refused before anything was applied: the same name goes to the
      next URL at once. A timeout, a broken connection after the request was
      sent, or any other 5xx leaves the outcome unknown: it is appended to
      ACKED.unknown and the same name is tried again on the next URL (a PUT of
      the same manifest is idempotent). Each 2xx appends a line to ACKED,
      flushed at once:
        {"name":..,"revision":..,"t":<time.monotonic()>,"wall":<time.time()>,
         "server":URL,"code":201}
      Stops after --duration seconds, --count writes, when --stop-file exists,
      or on SIGTERM/SIGINT, after finishing the requests in flight. Prints a
      summary (JSON, one line) with the longest gap between two acknowledged
      writes (a gap still open at the end counts, marked "resumed": false).
      Exit 0; 2 if a server refused a write for good (4xx): a test bug.

  acked.py check --url URL --token T --run-id R --acked ACKED [--also URL2]
                 [--ca CA] [--wait S] [--ignore-revisions]
      Lists the Site objects on URL and checks that every acknowledged name is
      present at the acknowledged revision. Objects of the run that were
      neither acknowledged nor of unknown outcome are reported as unexplained
      (a write refused with "not the primary" was applied after all). With
      --also, URL2 must hold exactly the same objects of the run with the same
      revisions. --wait retries for up to S seconds until all of it holds (a
      mirror catching up). Exit 0 if all good, 1 otherwise (missing names
      listed).

  acked.py maxgap --acked ACKED [--from T] [--to T] [--after T] [--max S]
                  [--clock mono|wall]
      The longest gap between consecutive acknowledged writes within
      [from, to] (monotonic seconds, field t; with --clock wall, Unix time,
      field wall: a shell marks a fault for free with $EPOCHREALTIME, where
      starting python to read the monotonic clock takes 20-150 ms); with --after T
      also how long after T the first acknowledged write came ("writes
      resumed within X s of the fault"). --max S: exit 1 if the gap (or, with
      --after, the resume delay) exceeds S.

  acked.py now [--wall]
      Prints time.monotonic() (or time.time()), the writer's clocks.

URLs: http://HOST:PORT (loopback) or https://HOST:PORT with --ca (and
optionally --cert/--key for a client certificate). Several URLs may also be
given comma-separated. The token may come from $VIGIL_TOKEN instead of --token.
Standard library only.
"""

import argparse
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse

KIND = "Site"


def die(msg, code=2):
    print(f"acked.py: {msg}", file=sys.stderr)
    sys.exit(code)


class Endpoint:
    """One member's API: scheme, host, port and the TLS context."""

    def __init__(self, url, ctx):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname or not u.port:
            die(f"bad URL {url!r}: want http(s)://HOST:PORT")
        if u.scheme == "https" and ctx is None:
            die(f"{url}: https needs --ca")
        self.url = f"{u.scheme}://{u.netloc}"
        self.https = u.scheme == "https"
        self.host, self.port, self.ctx = u.hostname, u.port, ctx

    def connect(self, timeout):
        if self.https:
            c = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ctx)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        c.connect()
        return c


def make_ctx(args):
    if not args.ca:
        return None
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def endpoints(args, urls):
    ctx = make_ctx(args)
    out = []
    for u in urls:
        out += [Endpoint(x.strip(), ctx) for x in u.split(",") if x.strip()]
    if not out:
        die("no --url")
    return out


def token(args):
    t = args.token or os.environ.get("VIGIL_TOKEN")
    if not t:
        die("no --token (or $VIGIL_TOKEN)")
    return t


def check_run_id(r):
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    if not (1 <= len(r) <= 48 and all(c in alnum + "-" for c in r) and r[0] in alnum and r[-1] in alnum):
        die(f"run id {r!r}: 1-48 of a-z, 0-9 and '-', starting and ending with a letter or digit")


# --- writer -------------------------------------------------------------------

class Writer:
    def __init__(self, args):
        self.args = args
        self.eps = endpoints(args, args.url)
        self.auth = "Bearer " + token(args)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seq = 0
        self.preferred = 0  # index of the endpoint that last acknowledged
        self.acked = 0
        self.unknown = 0
        self.refused = 0  # 503 naming the primary: not applied, retried elsewhere
        self.fatal = None
        self.t0 = time.monotonic()
        self.last_ack = None
        self.gap = (0.0, self.t0, self.t0)  # (seconds, from, to)
        self.out = open(args.out, "a", buffering=1)
        self.unk = open(args.out + ".unknown", "a", buffering=1)

    def next_name(self):
        with self.lock:
            self.seq += 1
            return f"{self.args.run_id}-{self.seq:07d}", self.seq

    def record_ack(self, name, rev, ep, code, idx, sent):
        t, wall = time.monotonic(), time.time()
        with self.lock:
            # sent: wall time just before the request went out; a loaded
            # machine can delay the recording of an answer, never its sending
            line = json.dumps({"name": name, "revision": rev, "t": round(t, 6), "wall": round(wall, 6),
                               "sent": round(sent, 6), "server": ep.url, "code": code})
            self.out.write(line + "\n")
            self.out.flush()
            prev = self.last_ack if self.last_ack is not None else self.t0
            if t - prev > self.gap[0]:
                self.gap = (t - prev, prev, t)
            self.last_ack = t
            self.acked += 1
            self.preferred = idx
            if self.args.count and self.acked >= self.args.count:
                self.stop.set()

    def record_unknown(self, name, ep, why):
        with self.lock:
            self.unknown += 1
            line = json.dumps({"name": name, "t": round(time.monotonic(), 6), "wall": round(time.time(), 6),
                               "server": ep.url, "error": why})
            self.unk.write(line + "\n")
            self.unk.flush()

    def attempt(self, conns, idx, name, body):
        """One PUT to endpoint idx. Returns ("ack", rev, code), ("refused",),
        ("unknown", why) or ("fatal", why)."""
        ep = self.eps[idx]
        conn = conns.get(idx)
        if conn is None:
            try:
                conn = ep.connect(self.args.timeout)
            except (OSError, http.client.HTTPException) as e:
                return ("refused", f"connect: {e}")  # nothing was sent
            conns[idx] = conn
        try:
            conn.request("PUT", f"/api/v1/objects/{KIND}/{name}", body=body,
                         headers={"Authorization": self.auth, "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            conns.pop(idx, None)
            # a keep-alive connection the server had closed before we wrote:
            # nothing was received, but we cannot tell that apart; unknown.
            return ("unknown", f"{type(e).__name__}: {e}")
        code = resp.status
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = {}
        if 200 <= code < 300:
            return ("ack", doc.get("revision"), code)
        if code == 503 and isinstance(doc, dict) and "primary" in doc:
            return ("refused", f"503 {doc.get('error', '')}")
        if code >= 500:
            conn.close()
            conns.pop(idx, None)
            return ("unknown", f"HTTP {code}: {data[:200].decode(errors='replace')}")
        return ("fatal", f"HTTP {code} from {ep.url} for {name}: {data[:300].decode(errors='replace')}")

    def worker(self):
        conns = {}
        try:
            while not self.stop.is_set():
                name, seq = self.next_name()
                body = json.dumps({"kind": KIND, "name": name,
                                   "spec": {"location": f"fault test {self.args.run_id} write {seq}"}})
                idx = self.preferred
                failures = 0
                while not self.stop.is_set():
                    sent = time.time()
                    r = self.attempt(conns, idx, name, body)
                    if r[0] == "ack":
                        self.record_ack(name, r[1], self.eps[idx], r[2], idx, sent)
                        if self.args.interval:
                            self.stop.wait(self.args.interval)
                        break
                    if r[0] == "fatal":
                        with self.lock:
                            self.fatal = self.fatal or r[1]
                        self.stop.set()
                        break
                    if r[0] == "unknown":
                        self.record_unknown(name, self.eps[idx], r[1])
                    else:
                        with self.lock:
                            self.refused += 1
                    failures += 1
                    idx = (idx + 1) % len(self.eps)
                    if failures % len(self.eps) == 0:
                        self.stop.wait(0.05)  # every member said no: pause a little
        finally:
            for c in conns.values():
                c.close()

    def run(self):
        def on_signal(signum, frame):
            self.stop.set()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.args.workers)]
        for th in threads:
            th.start()
        deadline = self.t0 + self.args.duration if self.args.duration else None
        while not self.stop.is_set():
            if deadline and time.monotonic() >= deadline:
                break
            if self.args.stop_file and os.path.exists(self.args.stop_file):
                break
            self.stop.wait(0.05)
        self.stop.set()
        for th in threads:
            th.join()
        t_end = time.monotonic()
        gap, gfrom, gto = self.gap
        resumed = True
        tail_from = self.last_ack if self.last_ack is not None else self.t0
        if t_end - tail_from > gap:
            gap, gfrom, gto, resumed = t_end - tail_from, tail_from, t_end, False
        summary = {"acked": self.acked, "unknown": self.unknown, "refused": self.refused,
                   "duration_s": round(t_end - self.t0, 3), "max_gap_s": round(gap, 3),
                   "max_gap_from": round(gfrom, 6), "max_gap_to": round(gto, 6),
                   "resumed": resumed, "start": round(self.t0, 6), "end": round(t_end, 6)}
        if self.fatal:
            summary["fatal"] = self.fatal
        print(json.dumps(summary), flush=True)
        print(f"writer: {self.acked} acknowledged, {self.unknown} unknown outcomes, "
              f"{self.refused} refused; longest gap {gap:.3f} s "
              f"(from t={gfrom:.3f} to t={gto:.3f}{'' if resumed else ', not resumed at the end'})",
              file=sys.stderr, flush=True)
        self.out.close()
        self.unk.close()
        if self.fatal:
            print(f"writer: stopped: {self.fatal}", file=sys.stderr)
            return 2
        return 0


# --- check --------------------------------------------------------------------

def read_lines(path):
    out = []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    # the writer flushes whole lines; a torn last line means
                    # it was killed mid-write: the ack was not recorded
                    print(f"acked.py: {path}:{n}: ignoring a torn line", file=sys.stderr)
    except FileNotFoundError:
        pass
    return out


def list_run(ep, auth, prefix, timeout):
    """{name: revision} of the run's Site objects on ep, and the role header."""
    conn = ep.connect(timeout)
    try:
        conn.request("GET", f"/api/v1/objects/{KIND}", headers={"Authorization": auth})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET /api/v1/objects/{KIND} on {ep.url}: HTTP {resp.status} {data[:200]!r}")
        doc = json.loads(data)
        role = resp.getheader("Vigil-Role", "")
    finally:
        conn.close()
    return {o["name"]: o.get("revision") for o in doc.get("items", []) if o.get("name", "").startswith(prefix)}, role


def check_once(args, eps, auth):
    """Returns (ok, report lines, missing names)."""
    prefix = args.run_id + "-"
    acked = {}
    for a in read_lines(args.acked):
        acked[a["name"]] = a.get("revision")
    unknown = {u["name"] for u in read_lines(args.acked + ".unknown")}
    lines, ok = [], True
    present, role = list_run(eps[0], auth, prefix, args.timeout)
    missing = sorted(n for n in acked if n not in present)
    wrong_rev = sorted(n for n in acked if n in present and not args.ignore_revisions
                       and acked[n] is not None and present[n] != acked[n])
    unexplained = sorted(n for n in present if n not in acked and n not in unknown)
    unk_present = sum(1 for n in unknown if n in present and n not in acked)
    lines.append(f"check {eps[0].url}{' (' + role + ')' if role else ''}: {len(acked)} acknowledged, "
                 f"{len(acked) - len(missing)} present, {len(missing)} missing; "
                 f"{len(present)} objects of run {args.run_id}; {len(unknown - set(acked))} unknown "
                 f"outcomes never acknowledged, {unk_present} of them present")
    if missing:
        ok = False
        lines.append(f"MISSING ({len(missing)}): " + " ".join(missing[:200]) + (" ..." if len(missing) > 200 else ""))
    if wrong_rev:
        ok = False
        lines.append(f"WRONG REVISION ({len(wrong_rev)}): " +
                     " ".join(f"{n}(acked {acked[n]}, found {present[n]})" for n in wrong_rev[:50]))
    if unexplained:
        ok = False
        lines.append(f"UNEXPLAINED ({len(unexplained)}, present but neither acknowledged nor of unknown outcome): "
                     + " ".join(unexplained[:50]))
    for ep in eps[1:]:
        other, role2 = list_run(ep, auth, prefix, args.timeout)
        only1 = sorted(set(present) - set(other))
        only2 = sorted(set(other) - set(present))
        diff = sorted(n for n in set(present) & set(other) if present[n] != other[n])
        lines.append(f"also {ep.url}{' (' + role2 + ')' if role2 else ''}: {len(other)} objects of the run; "
                     f"{len(only1)} only on {eps[0].url}, {len(only2)} only on {ep.url}, "
                     f"{len(diff)} at different revisions")
        if only1 or only2 or diff:
            ok = False
            if only1:
                lines.append(f"ONLY ON {eps[0].url}: " + " ".join(only1[:50]))
            if only2:
                lines.append(f"ONLY ON {ep.url}: " + " ".join(only2[:50]))
            if diff:
                lines.append("DIFFERENT REVISIONS: " + " ".join(f"{n}({present[n]} vs {other[n]})" for n in diff[:50]))
    return ok, lines, missing


def cmd_check(args):
    eps = endpoints(args, args.url + (args.also or []))
    auth = "Bearer " + token(args)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            ok, lines, _ = check_once(args, eps, auth)
        except (OSError, http.client.HTTPException, RuntimeError, ValueError) as e:
            ok, lines = False, [f"check: {type(e).__name__}: {e}"]
        if ok or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for line in lines:
        print(line, file=sys.stdout if ok else sys.stderr)
    print("check: ok" if ok else "check: FAILED", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


# --- maxgap -------------------------------------------------------------------

def cmd_maxgap(args):
    field = "wall" if args.clock == "wall" else "t"
    ts = sorted(a[field] for a in read_lines(args.acked))
    lo = args.from_t if args.from_t is not None else (ts[0] if ts else 0.0)
    hi = args.to_t if args.to_t is not None else (ts[-1] if ts else 0.0)
    inside = [t for t in ts if lo <= t <= hi]
    # the window's edges count: a window with no ack at all is one long gap
    points = [lo] + inside + [hi]
    gap, gfrom, gto = 0.0, lo, lo
    for a, b in zip(points, points[1:]):
        if b - a > gap:
            gap, gfrom, gto = b - a, a, b
    res = {"acked": len(ts), "in_window": len(inside), "from": lo, "to": hi,
           "max_gap_s": round(gap, 3), "max_gap_from": gfrom, "max_gap_to": gto}
    judged = gap
    if args.after is not None:
        later = [t for t in ts if t > args.after]
        res["after"] = args.after
        res["resumed_after_s"] = round(later[0] - args.after, 3) if later else None
        judged = res["resumed_after_s"] if later else float("inf")
    print(json.dumps(res))
    if args.max is not None and judged > args.max:
        what = "first acknowledged write after the fault" if args.after is not None else "longest gap"
        print(f"maxgap: {what}: {judged:.3f} s > {args.max} s", file=sys.stderr)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description="acknowledged-write checker for vigil fault tests",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, urls=True):
        if urls:
            sp.add_argument("--url", action="append", required=True, help="member API URL (repeatable)")
            sp.add_argument("--token", help="API token (default $VIGIL_TOKEN)")
            sp.add_argument("--ca", help="CA certificate for https URLs")
            sp.add_argument("--cert", help="client certificate (optional)")
            sp.add_argument("--key", help="client key (with --cert)")
            sp.add_argument("--timeout", type=float, default=2.0, help="seconds per request (default 2)")
            sp.add_argument("--run-id", required=True, help="object name prefix of this run")

    w = sub.add_parser("writer")
    common(w)
    w.add_argument("--out", required=True, help="file of acknowledged writes (appended)")
    w.add_argument("--workers", type=int, default=1)
    w.add_argument("--duration", type=float, default=0, help="seconds (0: until stopped)")
    w.add_argument("--count", type=int, default=0, help="stop after this many acknowledged writes")
    w.add_argument("--stop-file", help="stop cleanly once this file exists")
    w.add_argument("--interval", type=float, default=0,
                   help="seconds each worker waits after an acknowledged write (default 0)")

    c = sub.add_parser("check")
    common(c)
    c.add_argument("--acked", required=True, help="the writer's --out file")
    c.add_argument("--also", action="append", help="another member that must hold the same objects")
    c.add_argument("--wait", type=float, default=0, help="retry for up to this many seconds")
    c.add_argument("--ignore-revisions", action="store_true")

    g = sub.add_parser("maxgap")
    g.add_argument("--acked", required=True)
    g.add_argument("--from", dest="from_t", type=float)
    g.add_argument("--to", dest="to_t", type=float)
    g.add_argument("--after", type=float, help="fault time: report when writes resumed after it")
    g.add_argument("--max", type=float, help="fail if the gap (or resume delay) exceeds this")
    g.add_argument("--clock", choices=("mono", "wall"), default="mono",
                   help="times are monotonic seconds (field t, default) or Unix time (field wall, "
                        "e.g. bash's $EPOCHREALTIME)")

    n = sub.add_parser("now")
    n.add_argument("--wall", action="store_true", help="Unix time instead of monotonic")

    args = p.parse_args()
    if args.cmd == "now":
        print(f"{time.time() if args.wall else time.monotonic():.6f}")
        return 0
    if args.cmd == "maxgap":
        return cmd_maxgap(args)
    check_run_id(args.run_id)
    if args.cmd == "writer":
        if args.workers < 1:
            die("--workers must be at least 1")
        return Writer(args).run()
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
