#!/usr/bin/env python3
"""Reading to page: how long from a reading crossing a threshold to the
webhook arriving at the on-call person's receiver, for vigil and for
Prometheus + Alertmanager fed the same series, in the same run.

vigil: a reading pushed to vigild (line protocol) crosses a rule's threshold;
the rule state change, the incident and its first escalation step are
records of the log; the page is a webhook to the receiver here. Each trial
uses a fresh sensor (one condition, one incident) and acknowledges the
incident once paged, so grouping and flapping never hold a page back.

Prometheus + Alertmanager (Debian's packages), at their fastest settings:
scrape and rule evaluation every 100 ms, alert `for: 0s`, Alertmanager
group_wait 0s grouping by sensor, a webhook to the same receiver. The
series is served by an exporter here; a trial sets the value above the
threshold and waits for the webhook.

usage: page_latency.py --vigild PATH --vigil PATH --workdir DIR [--trials N]
Prints p50/p95/p99 of both and the ratio; exit status 3 if vigil's p99 is
above 20 ms or not at least 50 times better than the peer's.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARRIVALS = {}  # marker -> arrival time (ns)
COND = threading.Condition()
EXPORTED = {}  # sensor -> value (the peer's series)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        now = time.time_ns()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        markers = []
        if "alerts" in doc:  # Alertmanager
            markers = ["am:" + a.get("labels", {}).get("sensor", "")
                       for a in doc["alerts"] if a.get("status") == "firing"]
        elif doc.get("event") == "trigger":  # vigil's generic webhook
            markers = ["vg:" + (doc.get("labels") or {}).get("sensor", "")]
        with COND:
            for m in markers:
                ARRIVALS.setdefault(m, now)
            COND.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # the peer's exporter
        text = "".join(f'bench_value{{sensor="{s}"}} {v}\n' for s, v in EXPORTED.items())
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def wait_arrival(marker, timeout):
    deadline = time.time() + timeout
    with COND:
        while marker not in ARRIVALS:
            left = deadline - time.time()
            if left <= 0:
                return None
            COND.wait(left)
        return ARRIVALS[marker]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def api(port, token, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if isinstance(body, str) else body,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def run_vigil(args, rport, trials):
    d = os.path.join(args.workdir, "vigil")
    out = subprocess.run([args.vigild, "init", "--data", d, "-o", "json"], check=True,
                         capture_output=True, text=True).stdout
    token = json.loads(out)["admin_token"]
    port = free_port()
    log = open(os.path.join(args.workdir, "vigild.log"), "w")
    proc = subprocess.Popen([args.vigild, "run", "--data", d, "--listen", f"127.0.0.1:{port}",
                             "--no-collect"], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        docs = [
            {"kind": "Site", "name": "b", "spec": {"location": "bench"}},
            {"kind": "Zone", "name": "b-hall", "spec": {"site": "b", "type": "server-room"}},
            {"kind": "Device", "name": "b-push", "spec": {"site": "b", "zone": "b-hall",
                                                        "driver": "push"}},
            {"kind": "Rule", "name": "b-hot", "spec": {"match": {"zone": "b-hall"},
                                                      "severity": "critical", "above": 50}},
        ]
        # a person and a policy per sensor: vigil sends at most 10 pages a
        # minute to one contact method, and this sends one a trial
        for i in range(trials + 3):
            docs.append({"kind": "Sensor", "name": f"b-{i}", "spec": {
                "zone": "b-hall", "device": "b-push", "type": "temperature",
                "builtin_rules": False}})
            docs.append({"kind": "Person", "name": f"p-{i}", "spec": {"contact_methods": [
                {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{rport}/"}]}})
            docs.append({"kind": "EscalationPolicy", "name": f"for-{i}", "spec": {
                "match": {"labels": {"sensor": f"b-{i}"}},
                "steps": [{"notify": [{"person": f"p-{i}"}], "wait_minutes": 60}]}})
        for o in docs:
            api(port, token, "PUT", f"/api/v1/objects/{o['kind']}/{o['name']}", json.dumps(o))
        time.sleep(1)  # the monitor and the engine load what was applied
        lat = []
        for i in range(trials + 3):
            sensor = f"b-{i}"
            t0 = time.time_ns()
            r = api(port, token, "POST", "/api/v1/write?precision=ms",
                    f"{sensor} value=60 {t0 // 1000000}", "text/plain")
            if r.get("accepted") != 1:
                raise SystemExit(f"vigil refused the reading: {r}")
            t1 = wait_arrival("vg:" + sensor, 10)
            if t1 is None:
                with open(os.path.join(args.workdir, "incidents.json"), "w") as f:
                    json.dump(api(port, token, "GET", "/api/v1/incidents?status=all&limit=5"), f)
                raise SystemExit(f"vigil: no page for {sensor} within 10 s (see vigild.log, "
                                 "incidents.json)")
            if i >= 3:  # the first ones warm up connections and caches
                lat.append((t1 - t0) / 1e6)
            inc = api(port, token, "GET", "/api/v1/incidents?status=open")["items"]
            for it in inc:
                if it["status"] == "triggered":
                    try:
                        api(port, token, "POST", f"/api/v1/incidents/{it['id']}/ack", "")
                    except urllib.error.HTTPError as e:
                        if e.code != 409:  # acknowledged with its group meanwhile
                            raise
        return lat
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def run_peer(args, rport, trials):
    am_port, prom_port = free_port(), free_port()
    w = args.workdir
    with open(os.path.join(w, "am.yml"), "w") as f:
        f.write(f"""route: {{receiver: r, group_by: [sensor], group_wait: 0s, group_interval: 1s,
        repeat_interval: 1h}}
receivers: [{{name: r, webhook_configs: [{{url: "http://127.0.0.1:{rport}/", send_resolved: false}}]}}]
""")
    with open(os.path.join(w, "rules.yml"), "w") as f:
        f.write("groups: [{name: b, interval: 100ms, rules: [{alert: Hot, expr: bench_value > 50,"
                " labels: {severity: critical}}]}]\n")
    with open(os.path.join(w, "prom.yml"), "w") as f:
        f.write(f"""global: {{scrape_interval: 100ms, scrape_timeout: 100ms, evaluation_interval: 100ms}}
rule_files: [{w}/rules.yml]
alerting: {{alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]}}
scrape_configs: [{{job_name: b, static_configs: [{{targets: ["127.0.0.1:{rport}"]}}]}}]
""")
    logs = open(os.path.join(w, "peer.log"), "w")
    am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={w}/am.yml",
                           f"--storage.path={w}/am", f"--web.listen-address=127.0.0.1:{am_port}",
                           "--cluster.listen-address="], stdout=logs, stderr=logs)
    prom = subprocess.Popen(["prometheus", f"--config.file={w}/prom.yml",
                             f"--storage.tsdb.path={w}/prom",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=logs, stderr=logs)
    try:
        for i in range(trials + 3):
            EXPORTED[f"b-{i}"] = 10
        time.sleep(3)  # the series exist and were scraped below the threshold
        lat = []
        for i in range(trials + 3):
            sensor = f"b-{i}"
            t0 = time.time_ns()
            EXPORTED[sensor] = 60
            t1 = wait_arrival("am:" + sensor, 30)
            if t1 is None:
                raise SystemExit(f"Prometheus + Alertmanager: no page for {sensor} within 30 s")
            if i >= 3:
                lat.append((t1 - t0) / 1e6)
        return lat
    finally:
        for p in (prom, am):
            p.terminate()
            p.wait(timeout=15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--peer-trials", type=int, default=20)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    rport = srv.server_address[1]
    vg = run_vigil(args, rport, args.trials)
    ARRIVALS.clear()
    peer = run_peer(args, rport, args.peer_trials)
    print(f"reading -> page (ms)          p50      p95      p99   trials")
    for name, v in (("vigil", vg), ("prometheus+alertmanager", peer)):
        print(f"{name:26s} {pct(v, 50):8.1f} {pct(v, 95):8.1f} {pct(v, 99):8.1f} {len(v):8d}")
    ratio = pct(peer, 99) / pct(vg, 99)
    print(f"ratio (peer p99 / vigil p99): {ratio:.1f}x   target: vigil p99 <= 20 ms and >= 50x")
    ok = pct(vg, 99) <= 20 and ratio >= 50
    print("target met" if ok else "target NOT met")
    sys.exit(0 if ok else 3)


if __name__ == "__main__":
    main()
