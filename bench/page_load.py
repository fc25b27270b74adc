#!/usr/bin/env python3
"""Many incidents at once (bench/README.md): N incidents opened through the PagerDuty Events v2
endpoint (16 clients), spread over P people and policies, each policy
paging its person in 2 steps, 3 rounds (6 pages an incident), with a
"minute" of --minute-ms. Measures how fast incidents are opened, the pages a
second delivered to a local receiver while escalations run, and checks
that no escalation step was missed: every incident got its 6 pages, each
once (by Idempotency-Key), and every step fired at least one wait after
the step before (from the incidents' timelines).

usage: page_load.py --vigild PATH --workdir DIR [--incidents N] [--people P]
"""
import argparse
import asyncio
import collections
import concurrent.futures as cf
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

LOCK = threading.Lock()
KEYS = collections.Counter()
TIMES = []


async def receive(reader, writer):
    """One keep-alive connection of the receiver: counts each request's
    Idempotency-Key and answers 202. asyncio rather than a thread per
    connection: with 256 pages in flight, threads starved each other past
    the pager's 10 s timeout and the bench measured its own receiver."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, key = 0, ""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"idempotency-key":
                    key = value.strip().decode()
            if length:
                await reader.readexactly(length)
            with LOCK:
                KEYS[key] += 1
                TIMES.append(time.time())
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def start_receiver():
    """The receiver on its own thread and loop; returns its port."""
    ready = threading.Event()
    port = []

    def run():
        loop = asyncio.new_event_loop()
        srv = loop.run_until_complete(asyncio.start_server(receive, "127.0.0.1", 0, backlog=4096))
        port.append(srv.sockets[0].getsockname()[1])
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait()
    return port[0]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--incidents", type=int, default=10000)
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--minute-ms", type=int, default=1000)
    args = ap.parse_args()
    rport = start_receiver()
    d = os.path.join(args.workdir, "vigil")
    token = json.loads(subprocess.run([args.vigild, "init", "--data", d, "-o", "json"],
                                      check=True, capture_output=True, text=True).stdout)["admin_token"]
    port = free_port()
    log = open(os.path.join(args.workdir, "vigild.log"), "w")
    proc = subprocess.Popen([args.vigild, "run", "--data", d, "--listen", f"127.0.0.1:{port}",
                             "--no-collect", "--escalation-minute-ms", str(args.minute_ms),
                             "--max-connections", "1000"], stdout=log, stderr=log)

    def api(method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        for k in range(args.people):
            api("PUT", f"/api/v1/objects/Person/p{k}", {"spec": {"contact_methods": [
                {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{rport}/p{k}"}]}})
            api("PUT", f"/api/v1/objects/EscalationPolicy/t{k}", {"spec": {
                "match": {"labels": {"component": f"t{k}"}},
                "steps": [{"notify": [{"person": f"p{k}"}], "wait_minutes": 1},
                          {"notify": [{"person": f"p{k}"}], "wait_minutes": 1}],
                "repeat": 2}})
        time.sleep(1)

        def trigger(i):
            api("POST", "/api/v1/inbound/pagerduty", {
                "event_action": "trigger", "dedup_key": f"load-{i}", "payload": {
                    "summary": f"load {i}", "source": "bench", "severity": "error",
                    "component": f"t{i % args.people}"}})

        t0 = time.time()
        with cf.ThreadPoolExecutor(16) as ex:
            list(ex.map(trigger, range(args.incidents)))
        t_open = time.time() - t0
        want = args.incidents * 6
        deadline = time.time() + 600
        while time.time() < deadline:
            with LOCK:
                if len(KEYS) >= want:
                    break
            time.sleep(0.5)
        time.sleep(3 * args.minute_ms / 1000)  # room for a page too many
        with LOCK:
            times = sorted(TIMES)
            n_req, n_keys = len(times), len(KEYS)
            dup = sum(c - 1 for c in KEYS.values() if c > 1)
        span = times[-1] - times[0] if len(times) > 1 else 0
        # steps on schedule: the timelines of a sample
        late = missed = 0
        items = api("GET", "/api/v1/incidents?status=all&limit=10000")["items"]
        byid = {it["key"]: it["id"] for it in items}
        sample = [byid[f"pd/load-{i}"] for i in range(0, args.incidents, max(1, args.incidents // 200))
                  if f"pd/load-{i}" in byid]
        for iid in sample:
            inc = api("GET", f"/api/v1/incidents/{iid}")
            ts = [e["time"] for e in inc["timeline"] if e["what"] == "escalated"]
            if len(ts) != 6:
                missed += 1
            late += sum(1 for a, b in zip(ts, ts[1:]) if b - a < args.minute_ms - 5)
        print(f"incidents opened: {args.incidents} in {t_open:.1f} s "
              f"({args.incidents / t_open:.0f}/s through the PagerDuty endpoint, 16 clients)")
        print(f"pages: {n_req} requests, {n_keys} distinct (want {want}), {dup} sent twice; "
              f"{n_req / span if span else 0:.0f} pages/s over {span:.1f} s")
        print(f"escalation sample of {len(sample)} incidents: {missed} without all 6 steps, "
              f"{late} steps early")
        ok = n_keys == want and dup == 0 and missed == 0 and late == 0
        print("no escalation step missed" if ok else "STEPS MISSED OR REPEATED")
        sys.exit(0 if ok else 3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
