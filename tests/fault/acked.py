#!/usr/bin/env python3
"""Acknowledged-write checker for the fault tests (DESIGN.md section 8).

A write answered 2xx must survive every fault: this tool creates, updates
and deletes objects, records each acknowledged write with what it wrote, and
later checks that the members hold the state those writes left.

  acked.py writer --url URL [--url URL2] --token T --run-id R --out ACKED
                  [--ca CA] [--workers N] [--timeout S] [--duration S]
                  [--count N] [--stop-file PATH] [--interval S]
      Each worker owns the Site objects it creates (R-0000001, R-0000002,
      ...) and, one request at a time, either creates a new one or takes the
      next step in the life of one of its own: write 1 creates it, 2 updates
      it, 3 deletes it, 4 creates it again, 5 updates, 6 deletes, ...; every
      PUT carries content unique to its write ("fault test R: NAME write V").
      A 503 that names the primary ("not the primary", "primary": null) was
      refused before anything was applied: the same write goes to the next
      URL at once. A timeout, a broken connection after the request was sent,
      or any other 5xx leaves the outcome unknown: it is recorded in
      ACKED.unknown and the same write is tried again on the next URL (a PUT
      of the same manifest is idempotent). A DELETE answered 404 after an
      unknown outcome may have been applied by that attempt: it is recorded
      as unknown and the object left alone from then on; a 404 with no earlier
      attempt means an acknowledged object is gone (reported, and left for
      the check to find). Each 2xx appends a line to ACKED, flushed at once:
        {"n":<1, 2, ...>,"name":..,"v":<write number of the object>,
         "op":"put"|"delete","spec":{..} (put),"revision":..,
         "t":<time.monotonic()>,"wall":<time.time()>,"sent":<time.time()
         when the request went out>,"server":URL,"code":201}
      ACKED.unknown has the same fields (no revision or code; "error").
      Both files end, when the writer stops cleanly, with {"end":{"records":N}}.
      The files must not exist yet (or be empty). Stops after --duration
      seconds, --count acknowledged writes, when --stop-file exists, or on
      SIGTERM/SIGINT, after finishing the requests in flight. Prints a
      summary (JSON, one line) with the longest gap between two acknowledged
      writes (a gap still open at the end counts, marked "resumed": false).
      Exit 0; 2 if a server refused a write for good (4xx): a test bug.

  acked.py check --url URL --token T --run-id R --acked ACKED [--also URL2]
                 [--ca CA] [--wait S] [--ignore-revisions] [--live]
      Lists the run's Site objects on URL and judges each object the writer
      touched by its last acknowledged write: after a PUT it must hold that
      write's content (spec) at its revision, after a DELETE it must be
      absent; a later write of unknown outcome may have been applied instead
      (its content, or absent for a delete), and an object whose writes were
      all of unknown outcome may be absent. Reported: MISSING (absent
      although its last acknowledged write put it), WRONG CONTENT (an older
      or foreign content: a lost update), RESURRECTED (present although its
      last acknowledged write deleted it), WRONG REVISION, and UNEXPLAINED
      (objects of the run the records do not mention: a write refused with
      "not the primary" was applied after all). With --also, URL2 must hold
      exactly the same objects of the run, same content, same revisions.
      --wait retries for up to S seconds until all of it holds (a mirror
      catching up). The record files must be whole: a missing file, a line
      that is not a record, a gap in the numbering or a missing end line
      fails the check, and so do records with no acknowledged write at all
      (nothing would be proved). --live judges while the writer runs: no end
      line needed, a half-written last line is ignored, and an object may
      also be at the write in flight (the file is read before and after the
      listing). Exit 0 if all good, 1 otherwise (offenders listed).

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
import random
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

KIND = "Site"


def die(msg, code=2):
    print(f"acked.py: {msg}", file=sys.stderr)
    sys.exit(code)



def abort(conn):
    """Closes with a reset. A plain close leaves the request in the kernel,
    which goes on retransmitting it after a cut heals: it would then be
    applied after the writes acknowledged since, an old content over a newer
    one that no server could have prevented."""
    sock = conn.sock
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    conn.close()

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


# --- the life of an object ----------------------------------------------------

def op_of(v):
    """Write v of an object: 1 create, 2 update, 3 delete, 4 create again..."""
    return "delete" if v % 3 == 0 else "put"


def spec_of(run_id, name, v):
    """The content of write v (a put): unique to the object and the write."""
    return {"location": f"fault test {run_id}: {name} write {v}"}


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
        self.by_op = {"put": 0, "delete": 0}
        self.unknown = 0
        self.refused = 0  # 503 naming the primary: not applied, retried elsewhere
        self.vanished = 0  # DELETE 404 with no earlier unknown attempt: lost?
        self.fatal = None
        self.t0 = time.monotonic()
        self.last_ack = None
        self.gap = (0.0, self.t0, self.t0)  # (seconds, from, to)
        for path in (args.out, args.out + ".unknown"):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                die(f"{path} already holds records: give each writer run its own file")
        self.out = open(args.out, "w", buffering=1)
        self.unk = open(args.out + ".unknown", "w", buffering=1)

    def next_name(self):
        with self.lock:
            self.seq += 1
            return f"{self.args.run_id}-{self.seq:07d}"

    def record_ack(self, w, rev, ep, code, idx, sent):
        t, wall = time.monotonic(), time.time()
        with self.lock:
            self.acked += 1
            self.by_op[w["op"]] += 1
            # sent: wall time just before the request went out; a loaded
            # machine can delay the recording of an answer, never its sending
            rec = {"n": self.acked, **w, "revision": rev, "t": round(t, 6), "wall": round(wall, 6),
                   "sent": round(sent, 6), "server": ep.url, "code": code}
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
            prev = self.last_ack if self.last_ack is not None else self.t0
            if t - prev > self.gap[0]:
                self.gap = (t - prev, prev, t)
            self.last_ack = t
            self.preferred = idx
            if self.args.count and self.acked >= self.args.count:
                self.stop.set()

    def record_unknown(self, w, ep, why):
        with self.lock:
            self.unknown += 1
            rec = {"n": self.unknown, **w, "t": round(time.monotonic(), 6), "wall": round(time.time(), 6),
                   "server": ep.url, "error": why}
            self.unk.write(json.dumps(rec) + "\n")
            self.unk.flush()

    def attempt(self, conns, idx, w):
        """One request for write w to endpoint idx. Returns ("ack", rev,
        code), ("refused", why), ("unknown", why), ("absent",) (a DELETE
        answered 404) or ("fatal", why)."""
        ep = self.eps[idx]
        conn = conns.get(idx)
        if conn is None:
            try:
                conn = ep.connect(self.args.timeout)
            except (OSError, http.client.HTTPException) as e:
                return ("refused", f"connect: {e}")  # nothing was sent
            conns[idx] = conn
        path = f"/api/v1/objects/{KIND}/{w['name']}"
        headers = {"Authorization": self.auth}
        try:
            if w["op"] == "put":
                body = json.dumps({"kind": KIND, "name": w["name"], "spec": w["spec"]})
                headers["Content-Type"] = "application/json"
                conn.request("PUT", path, body=body, headers=headers)
            else:
                conn.request("DELETE", path, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            abort(conn)
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
            return ("ack", doc.get("revision") if isinstance(doc, dict) else None, code)
        if code == 503 and isinstance(doc, dict) and "primary" in doc:
            return ("refused", f"503 {doc.get('error', '')}")
        if code == 404 and w["op"] == "delete":
            return ("absent",)
        if code >= 500:
            abort(conn)
            conns.pop(idx, None)
            return ("unknown", f"HTTP {code}: {data[:200].decode(errors='replace')}")
        return ("fatal", f"HTTP {code} from {ep.url} for {w['op']} of {w['name']}: "
                         f"{data[:300].decode(errors='replace')}")

    def write(self, conns, w):
        """Tries write w until it is acknowledged or the writer stops.
        Returns "acked", "gone" (leave the object alone) or "stopped"."""
        idx = self.preferred
        failures = 0
        unknown_before = False
        while not self.stop.is_set():
            sent = time.time()
            r = self.attempt(conns, idx, w)
            if r[0] == "ack":
                self.record_ack(w, r[1], self.eps[idx], r[2], idx, sent)
                return "acked"
            if r[0] == "absent":
                if unknown_before:
                    # an earlier attempt may have deleted it: outcome unknown
                    self.record_unknown(w, self.eps[idx], "404 after an attempt of unknown outcome")
                else:
                    with self.lock:
                        self.vanished += 1
                    print(f"writer: DELETE of {w['name']} (write {w['v']}) answered 404 by "
                          f"{self.eps[idx].url}, but its last write was acknowledged",
                          file=sys.stderr, flush=True)
                return "gone"
            if r[0] == "fatal":
                with self.lock:
                    self.fatal = self.fatal or r[1]
                self.stop.set()
                return "stopped"
            if r[0] == "unknown":
                unknown_before = True
                self.record_unknown(w, self.eps[idx], r[1])
            else:
                with self.lock:
                    self.refused += 1
            failures += 1
            idx = (idx + 1) % len(self.eps)
            if failures % len(self.eps) == 0:
                self.stop.wait(0.05)  # every member said no: pause a little
        return "stopped"

    def worker(self):
        conns = {}
        rnd = random.Random(os.urandom(8))
        mine = {}  # name -> number of its last acknowledged write
        try:
            while not self.stop.is_set():
                if not mine or rnd.random() < 0.5:
                    name, v = self.next_name(), 1
                else:
                    name = rnd.choice(list(mine))
                    v = mine[name] + 1
                w = {"name": name, "v": v, "op": op_of(v)}
                if w["op"] == "put":
                    w["spec"] = spec_of(self.args.run_id, name, v)
                r = self.write(conns, w)
                if r == "acked":
                    mine[name] = v
                    if self.args.interval:
                        self.stop.wait(self.args.interval)
                elif r == "gone":
                    mine.pop(name, None)
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
        # the end line: the check knows the file is whole
        self.out.write(json.dumps({"end": {"records": self.acked}}) + "\n")
        self.unk.write(json.dumps({"end": {"records": self.unknown}}) + "\n")
        self.out.close()
        self.unk.close()
        gap, gfrom, gto = self.gap
        resumed = True
        tail_from = self.last_ack if self.last_ack is not None else self.t0
        if t_end - tail_from > gap:
            gap, gfrom, gto, resumed = t_end - tail_from, tail_from, t_end, False
        summary = {"acked": self.acked, "puts": self.by_op["put"], "deletes": self.by_op["delete"],
                   "unknown": self.unknown, "refused": self.refused, "vanished": self.vanished,
                   "duration_s": round(t_end - self.t0, 3), "max_gap_s": round(gap, 3),
                   "max_gap_from": round(gfrom, 6), "max_gap_to": round(gto, 6),
                   "resumed": resumed, "start": round(self.t0, 6), "end": round(t_end, 6)}
        if self.fatal:
            summary["fatal"] = self.fatal
        print(json.dumps(summary), flush=True)
        print(f"writer: {self.acked} acknowledged ({self.by_op['put']} puts, {self.by_op['delete']} deletes), "
              f"{self.unknown} unknown outcomes, {self.refused} refused; longest gap {gap:.3f} s "
              f"(from t={gfrom:.3f} to t={gto:.3f}{'' if resumed else ', not resumed at the end'})",
              file=sys.stderr, flush=True)
        if self.fatal:
            print(f"writer: stopped: {self.fatal}", file=sys.stderr)
            return 2
        return 0

# --- check --------------------------------------------------------------------

class Damaged(Exception):
    """A record file the check cannot trust: it proves nothing."""


def read_records(path, run_id, live=False):
    """The records of a writer's file, in order. Raises Damaged unless the
    file is whole: every line a record of this run, numbered 1, 2, ...
    without a gap, and the end line naming their count (--live: no end line
    needed, and a half-written last line is left for the next read)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise Damaged(f"{path}: no such file: the writer's records are missing")
    except OSError as e:
        raise Damaged(f"{path}: {e}")
    lines = raw.split(b"\n")
    last = lines.pop()  # what follows the last newline: empty if whole
    if last and not live:
        raise Damaged(f"{path}: the last line is cut off ({len(last)} bytes without a newline)")
    recs, end = [], None
    for n, line in enumerate(lines, 1):
        if end is not None:
            raise Damaged(f"{path}:{n}: a line after the end line")
        try:
            doc = json.loads(line)
        except ValueError:
            raise Damaged(f"{path}:{n}: not a record: {line[:80]!r}")
        if not isinstance(doc, dict):
            raise Damaged(f"{path}:{n}: not a record: {line[:80]!r}")
        if "end" in doc:
            end = doc["end"]
            if not isinstance(end, dict) or end.get("records") != len(recs):
                raise Damaged(f"{path}:{n}: the end line counts {end!r} records, the file holds {len(recs)}")
            continue
        name, v, op = doc.get("name"), doc.get("v"), doc.get("op")
        if (doc.get("n") != len(recs) + 1 or not isinstance(name, str) or not isinstance(v, int) or v < 1
                or op not in ("put", "delete") or (op == "put") != isinstance(doc.get("spec"), dict)):
            raise Damaged(f"{path}:{n}: record {len(recs) + 1} expected, found {line[:120]!r}")
        if run_id is not None and not name.startswith(run_id + "-"):
            raise Damaged(f"{path}:{n}: {name} is not of run {run_id}")
        recs.append(doc)
    if end is None and not live:
        raise Damaged(f"{path}: no end line after record {len(recs)}: the file was cut, "
                      "or the writer did not stop cleanly")
    return recs


def list_run(ep, auth, prefix, timeout):
    """{name: (revision, spec)} of the run's Site objects on ep, and the role header."""
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
    return {o["name"]: (o.get("revision"), o.get("spec")) for o in doc.get("items", [])
            if o.get("name", "").startswith(prefix)}, role


def by_name(recs):
    """{name: {v: record}} (the last record of each write)."""
    out = {}
    for r in recs:
        out.setdefault(r["name"], {})[r["v"]] = r
    return out


ABSENT = "absent"


def judge(args, name, present, acked, unknown, acked_before=None):
    """One object: None if its state is one its writes allow, else (what,
    detail). acked/unknown: {v: record} of the object; present: (revision,
    spec) or ABSENT; acked_before: {v: record} read before the listing
    (--live: the writes in between, and the one in flight, are allowed)."""
    last = max(acked) if acked else 0

    def state(v):
        rec = acked.get(v) or unknown.get(v)
        if v == 0:
            return ABSENT, None
        op = rec["op"] if rec else op_of(v)
        if op == "delete":
            return ABSENT, rec
        return (rec["spec"] if rec else spec_of(args.run_id, name, v)), rec

    allowed = {last} | {v for v in unknown if v > last}
    if acked_before is not None:
        allowed |= set(range(max(acked_before) if acked_before else 0, last + 2))
    wrong_rev = None
    for v in sorted(allowed):
        want, rec = state(v)
        if want == ABSENT:
            if present == ABSENT:
                return None
            continue
        if present == ABSENT or present[1] != want:
            continue
        strict = v in acked and not args.ignore_revisions and acked[v].get("revision") is not None
        if strict and present[0] != acked[v]["revision"]:
            wrong_rev = f"{name}(write {v}: acked revision {acked[v]['revision']}, found {present[0]})"
            continue
        return None
    if wrong_rev:
        return "WRONG REVISION", wrong_rev
    lastop = acked[last]["op"] if last else None
    if present == ABSENT:
        return "MISSING", f"{name}(write {last} put it)"
    if all(state(v)[0] == ABSENT for v in allowed):
        if lastop == "delete":
            return "RESURRECTED", f"{name}(write {last} deleted it; found revision {present[0]})"
        return "UNEXPLAINED", name
    # which write's content it holds, if any
    held = [v for v in sorted(set(acked) | set(unknown)) if state(v)[0] == present[1]]
    return "WRONG CONTENT", (f"{name}(last acknowledged write {last}; holds " +
                             (f"write {held[-1]}'s content" if held else f"{json.dumps(present[1])[:80]}") + ")")


KINDS = ("MISSING", "WRONG CONTENT", "RESURRECTED", "WRONG REVISION", "UNEXPLAINED")


def check_once(args, eps, auth):
    """Returns (ok, report lines)."""
    prefix = args.run_id + "-"
    before = None
    if args.live:  # the writes acknowledged before the listing, and after it
        before = by_name(read_records(args.acked, args.run_id, live=True))
        present, role = list_run(eps[0], auth, prefix, args.timeout)
    recs = read_records(args.acked, args.run_id, live=args.live)
    unk_recs = read_records(args.acked + ".unknown", args.run_id, live=args.live)
    if not args.live:
        present, role = list_run(eps[0], auth, prefix, args.timeout)
    if not recs:
        raise Damaged(f"{args.acked}: no acknowledged write at all: the check would prove nothing")
    acked, unknown = by_name(recs), by_name(unk_recs)
    found = {k: [] for k in KINDS}
    as_acked = later = 0
    for name in sorted(set(acked) | set(unknown) | set(present)):
        a, u = acked.get(name, {}), unknown.get(name, {})
        if not a and not u:
            found["UNEXPLAINED"].append(name)
            continue
        bad = judge(args, name, present.get(name, ABSENT), a, u,
                    None if before is None else before.get(name, {}))
        if bad:
            found[bad[0]].append(bad[1])
        elif a:
            want = a[max(a)]
            st = present.get(name, ABSENT)
            if (want["op"] == "delete" and st == ABSENT) or (st != ABSENT and st[1] == want.get("spec")):
                as_acked += 1
            else:
                later += 1
    n_put = sum(1 for r in recs if r["op"] == "put")
    lines = [f"check {eps[0].url}{' (' + role + ')' if role else ''}: {len(recs)} acknowledged writes "
             f"({n_put} puts, {len(recs) - n_put} deletes) on {len(acked)} objects: {as_acked} as acknowledged, "
             f"{later} at a later write{' in flight or' if args.live else ''} of unknown outcome, "
             f"{len(found['MISSING'])} missing, {len(found['WRONG CONTENT'])} wrong content, "
             f"{len(found['RESURRECTED'])} resurrected, {len(found['WRONG REVISION'])} wrong revision; "
             f"{len(present)} objects of run {args.run_id} present, {len(unk_recs)} attempts of unknown outcome"]
    ok = True
    for k in KINDS:
        if found[k]:
            ok = False
            extra = ", present but no write of the run names it" if k == "UNEXPLAINED" else ""
            lines.append(f"{k} ({len(found[k])}{extra}): " + " ".join(found[k][:50]) +
                         (" ..." if len(found[k]) > 50 else ""))
    for ep in eps[1:]:
        other, role2 = list_run(ep, auth, prefix, args.timeout)
        only1 = sorted(set(present) - set(other))
        only2 = sorted(set(other) - set(present))
        diff = sorted(n for n in set(present) & set(other) if present[n] != other[n])
        lines.append(f"also {ep.url}{' (' + role2 + ')' if role2 else ''}: {len(other)} objects of the run; "
                     f"{len(only1)} only on {eps[0].url}, {len(only2)} only on {ep.url}, "
                     f"{len(diff)} differ (revision or content)")
        if only1 or only2 or diff:
            ok = False
            if only1:
                lines.append(f"ONLY ON {eps[0].url}: " + " ".join(only1[:50]))
            if only2:
                lines.append(f"ONLY ON {ep.url}: " + " ".join(only2[:50]))
            if diff:
                lines.append("DIFFER: " + " ".join(f"{n}(revision {present[n][0]} vs {other[n][0]})"
                                                   if present[n][0] != other[n][0] else f"{n}(content)"
                                                   for n in diff[:50]))
    return ok, lines


def cmd_check(args):
    eps = endpoints(args, args.url + (args.also or []))
    auth = "Bearer " + token(args)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            ok, lines = check_once(args, eps, auth)
        except Damaged as e:
            print(f"check: {e}", file=sys.stderr)
            print("check: FAILED", file=sys.stderr)
            return 1
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
    try:
        # the writer may still be running: no end line needed yet
        recs = read_records(args.acked, None, live=True)
    except Damaged as e:
        print(f"maxgap: {e}", file=sys.stderr)
        return 1
    ts = sorted(a[field] for a in recs)
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
    c.add_argument("--live", action="store_true",
                   help="the writer is still running: allow the write in flight, no end line yet")

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
