#!/usr/bin/env python3
"""Facility event to the company's database taking writes at the other site,
for vigil and for Patroni switching over the same kind of PostgreSQL pair,
in one run (bench/README.md).

vigil: two PostgreSQL 15 servers (dc1 primary, dc2 its synchronous
standby), a two-site vigil cluster with its witness guarding them (a
postgresql Service) under a FailoverPolicy with no hold and no cooldown, and
simulated fire detection at both sites. A trial sets the primary's site on
fire (`vigil sim SITE-sim fire`) and measures, at the other site's server,
the first INSERT that commits; from the moment the fire is confirmed (the
protect decision's event) and from the command. Between trials the fire is
put out and the old primary's server rejoined as a standby (pg-rejoin.sh).

Patroni (Debian's 3.0, etcd 3.4 with its v2 API): two members managing two
PostgreSQL 15 servers in synchronous mode, ttl 10 s, loop_wait 1 s (its
fastest sound settings). A trial runs `patronictl switchover --force` and
measures the first INSERT that commits at the candidate; between trials
Patroni rejoins the old leader itself (pg_rewind).

usage: pg_switchover.py --vigild PATH --vigil PATH --workdir DIR [--trials N]
Prints median and p99 (the maximum, for ten trials) of both, the ratio, and
the committed rows lost (must be 0). Exit 3 if vigil is not at least 5x
faster than Patroni or a row was lost.
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

try:
    import psycopg2
except ImportError:
    raise SystemExit("pg_switchover: needs psycopg2 (Debian python3-psycopg2; run with /usr/bin/python3)")

PGBIN = "/usr/lib/postgresql/15/bin"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def as_pg(cmd):
    """PostgreSQL refuses to run as root: as postgres then."""
    if os.getuid() == 0:
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + cmd
    return cmd


def chown_pg(path):
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", "postgres:", path], check=True)


def sql(conninfo, query, timeout=5):
    """(ok, output) of one statement through psql."""
    r = subprocess.run(as_pg([f"{PGBIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                              conninfo + " connect_timeout=2", "-c", query]),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def wait(what, fn, timeout=60, every=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if fn():
                return
        except (OSError, subprocess.SubprocessError, ValueError, KeyError):
            pass
        time.sleep(every)
    raise SystemExit(f"pg_switchover: {what}: not so after {timeout} s")


def first_write(conninfo, tag):
    """Inserts until one commits; returns the wall time of that commit.

    One session, opened on the standby before it is promoted, tries every
    2 ms (a session on a standby may write from its first transaction after
    the promotion), so the figure holds no process start-up per attempt.
    It reconnects when the server ends the session."""
    n, conn = 0, None
    while True:
        n += 1
        try:
            if conn is None or conn.closed:
                conn = psycopg2.connect(conninfo + " connect_timeout=2")
                conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"INSERT INTO orders (site) VALUES ('{tag}-{n}')")
            t = time.time()
            conn.close()
            return t
        except psycopg2.Error:
            if conn is not None and conn.closed:
                conn = None
        time.sleep(0.002)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


# ---- vigil ----------------------------------------------------------------

class Vigil:
    def __init__(self, args, w):
        self.args, self.w, self.procs = args, w, []
        self.pg = {s: {"port": free_port(), "dir": f"{w}/pg/{s}"} for s in ("dc1", "dc2")}
        self.api = {s: free_port() for s in ("dc1", "dc2")}
        self.link = {s: free_port() for s in ("dc1", "dc2")}
        self.wport = free_port()
        self.sock = f"{w}/pg"

    def conninfo(self, s):
        return f"host={self.sock} port={self.pg[s]['port']} user=postgres dbname=postgres"

    def url(self, s):
        return f"http://127.0.0.1:{self.api[s]}"

    def spawn(self, cmd, log):
        p = subprocess.Popen(cmd, stdout=open(f"{self.w}/{log}", "a"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def pg_pair(self):
        os.makedirs(self.sock, exist_ok=True)
        os.chmod(self.w, 0o755)
        chown_pg(self.sock)
        d1, d2 = self.pg["dc1"]["dir"], self.pg["dc2"]["dir"]
        subprocess.run(as_pg([f"{PGBIN}/initdb", "-D", d1, "-A", "trust", "-U", "postgres"]),
                       check=True, capture_output=True)
        with open(f"{d1}/postgresql.conf", "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.sock}'\n"
                    f"port = {self.pg['dc1']['port']}\nwal_level = replica\nmax_wal_senders = 4\n"
                    "wal_log_hints = on\nwal_keep_size = 256MB\n"
                    "synchronous_standby_names = 'dc2'\nshared_buffers = 16MB\n")
        self.pg_start("dc1")
        subprocess.run(as_pg([f"{PGBIN}/pg_basebackup", "-D", d2, "-d", self.conninfo("dc1"), "-R",
                              "-X", "stream"]), check=True, capture_output=True)
        conf = open(f"{d2}/postgresql.conf").read()
        conf = conf.replace(f"port = {self.pg['dc1']['port']}", f"port = {self.pg['dc2']['port']}")
        conf = conf.replace("synchronous_standby_names = 'dc2'", "synchronous_standby_names = 'dc1'")
        open(f"{d2}/postgresql.conf", "w").write(conf)
        with open(f"{d2}/postgresql.auto.conf", "a") as f:
            f.write(f"primary_conninfo = '{self.conninfo('dc1')} application_name=dc2'\n")
        self.pg_start("dc2")
        wait("dc2 streams synchronously", lambda: self.synced("dc1", "dc2"))
        ok, out = sql(self.conninfo("dc1"), "CREATE TABLE orders (id serial PRIMARY KEY, site text)")
        if not ok:
            raise SystemExit(f"pg_switchover: create table: {out}")

    def pg_start(self, s):
        subprocess.run(as_pg([f"{PGBIN}/pg_ctl", "-D", self.pg[s]["dir"], "-w", "-t", "30", "-l",
                              f"{self.w}/pg/{s}.log", "start"]), check=True, capture_output=True)

    def synced(self, primary, standby):
        ok, out = sql(self.conninfo(primary), "SELECT sync_state FROM pg_stat_replication "
                      f"WHERE application_name = '{standby}'")
        return ok and out == "sync"

    def cli(self, site, *a):
        return subprocess.run([self.args.vigil, "-s", self.url(site), "--token", self.token] + list(a),
                              capture_output=True, text=True, timeout=30)

    def get(self, site, path):
        req = urllib.request.Request(self.url(site) + path,
                                     headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def role(self, site):
        return self.get(site, "/api/v1/cluster")

    def primary(self):
        for s in ("dc1", "dc2"):
            try:
                v = self.role(s)
                if v["role"] == "primary" and v["acting"]:
                    return s
            except OSError:
                pass
        return None

    def cluster(self):
        w = self.w
        v = self.args.vigil
        subprocess.run([v, "pki", "init", "--dir", f"{w}/pki"], check=True, capture_output=True)
        for n in ("dc1", "dc2", "witness"):
            subprocess.run([v, "pki", "issue", n, "--dir", f"{w}/pki", "--ip", "127.0.0.1"],
                           check=True, capture_output=True)
        self.spawn([self.args.vigild, "witness", "--data", f"{w}/witness", "--listen",
                    f"127.0.0.1:{self.wport}", "--tls-cert", f"{w}/pki/witness.crt", "--tls-key",
                    f"{w}/pki/witness.key", "--tls-ca", f"{w}/pki/ca.crt"], "witness.log")
        out = subprocess.run([self.args.vigild, "init", "--data", f"{w}/dc1", "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
        self.token = json.loads(out)["admin_token"]
        subprocess.run([self.args.vigild, "init", "--data", f"{w}/dc2", "--key-file",
                        f"{w}/dc1/keyring", "--mirror"], check=True, capture_output=True)
        for s, o in (("dc1", "dc2"), ("dc2", "dc1")):
            with open(f"{w}/{s}.yaml", "w") as f:
                f.write(f"name: {s}\nsite: {s}\ndata: {w}/{s}\nlisten: 127.0.0.1:{self.api[s]}\n"
                        f"peer_listen: 127.0.0.1:{self.link[s]}\n"
                        f"peer: {{name: {o}, address: 127.0.0.1:{self.link[o]}}}\n"
                        f"witness: {{name: witness, address: 127.0.0.1:{self.wport}}}\n"
                        f"tls: {{cert: pki/{s}.crt, key: pki/{s}.key, ca: pki/ca.crt}}\n")
        time.sleep(0.3)
        self.spawn([self.args.vigild, "run", "--node", f"{w}/dc1.yaml", "--bootstrap"], "dc1.log")
        self.spawn([self.args.vigild, "run", "--node", f"{w}/dc2.yaml"], "dc2.log")
        wait("dc2 in sync", lambda: sorted(self.role("dc1")["sync"]) == ["dc1", "dc2"])
        docs = []
        for s in ("dc1", "dc2"):
            docs += [
                {"kind": "Site", "name": s, "spec": {"location": s}},
                {"kind": "Zone", "name": f"{s}-hall", "spec": {"site": s, "type": "server-room"}},
                {"kind": "Device", "name": f"{s}-sim", "spec": {
                    "site": s, "zone": f"{s}-hall", "driver": "sim", "interval_ms": 100,
                    "options": {"speed": 100, "seed": 3}}},
                {"kind": "Sensor", "name": f"{s}-smoke", "spec": {
                    "zone": f"{s}-hall", "device": f"{s}-sim", "type": "smoke",
                    "source": {"quantity": "smoke"}}},
                {"kind": "Sensor", "name": f"{s}-vesda", "spec": {
                    "zone": f"{s}-hall", "device": f"{s}-sim", "type": "vesda-alarm",
                    "source": {"quantity": "vesda-alarm"}}},
            ]
        docs.append({"kind": "FailoverPolicy", "name": "default",
                     "spec": {"hold_s": 0, "cooldown_s": 0}})
        docs.append({"kind": "Service", "name": "orders-db", "spec": {
            "agent": "postgresql", "order": 10, "timeout_s": 5, "retries": 1,
            "sites": [{"name": s, "conninfo": self.conninfo(s)} for s in ("dc1", "dc2")]}})
        for d in docs:
            req = urllib.request.Request(f"{self.url('dc1')}/api/v1/objects/{d['kind']}/{d['name']}",
                                         method="PUT", data=json.dumps(d).encode(),
                                         headers={"Authorization": "Bearer " + self.token,
                                                  "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()

    def service_role(self, member, site):
        for it in self.get(member, "/api/v1/services")["items"]:
            if it["name"] == "orders-db":
                for st in it["sites"]:
                    if st["site"] == site:
                        return st["role"]
        return None

    def calm(self, site):
        st = self.get(site, "/api/v1/protect")
        return st.get("state") == "calm"

    def no_fire(self, site):
        active = self.get(site, "/api/v1/alerts")["active"]
        return not any(a.get("to") == "critical" and a.get("sensor", "").startswith(site)
                       for a in active)

    def decision_time(self, member, after_ms):
        for ev in self.get(member, "/api/v1/events?limit=1000")["items"]:
            if ev.get("kind") != "protect_switchover":
                continue
            t = ev.get("time")
            t = (datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
                 if isinstance(t, str) else t / 1000.0)
            if t * 1000 >= after_ms:
                return t
        return None

    def breakdown(self, member, t_dec, t_write):
        """Where a trial's time went, from the new primary's events."""
        def ts(ev):
            t = ev.get("time")
            return (datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
                    if isinstance(t, str) else t / 1000.0)
        parts = []
        for ev in sorted(self.get(member, "/api/v1/events?limit=1000")["items"], key=ts):
            if ts(ev) < t_dec - 0.001:
                continue
            if ev.get("kind") == "service_move" and ev.get("phase") == "start":
                parts.append(f"move starts +{(ts(ev) - t_dec) * 1000:.0f}")
            elif ev.get("kind") == "service_step" and not ev.get("enforced"):
                parts.append(f"{ev.get('step')} at {ev.get('site')} {ev.get('duration_ms')} "
                             f"(ends +{(ts(ev) - t_dec) * 1000:.0f})")
        parts.append(f"first write +{(t_write - t_dec) * 1000:.0f}")
        return ", ".join(parts)

    def run(self, trials):
        self.pg_pair()
        self.cluster()
        n_rows = 0
        res = []
        for i in range(trials):
            p = self.primary()
            s = "dc2" if p == "dc1" else "dc1"
            wait(f"trial {i}: {p} watches calmly", lambda: self.calm(p), timeout=60)
            wait(f"trial {i}: {p}'s database primary", lambda: self.service_role(p, p) == "primary")
            wait(f"trial {i}: {s}'s database a standby", lambda: self.service_role(p, s) == "standby")
            wait(f"trial {i}: {s} streams synchronously", lambda: self.synced(p, s))
            ok, _ = sql(self.conninfo(p), f"INSERT INTO orders (site) VALUES ('before-{i}')")
            n_rows += 1 if ok else 0
            t_cmd = time.time()
            r = self.cli(p, "sim", f"{p}-sim", "fire")
            if r.returncode:
                raise SystemExit(f"pg_switchover: vigil sim: {r.stderr}")
            t_write = first_write(self.conninfo(s), f"t{i}")
            n_rows += 1
            wait(f"trial {i}: the decision event", lambda: self.decision_time(s, int(t_cmd * 1000)))
            t_dec = self.decision_time(s, int(t_cmd * 1000))
            res.append({"from_decision": (t_write - t_dec) * 1000, "from_command": (t_write - t_cmd) * 1000})
            print(f"vigil trial {i + 1}: {p} -> {s}: {res[-1]['from_decision']:.0f} ms from the "
                  f"decision, {res[-1]['from_command']:.0f} ms from the fire command",
                  file=sys.stderr, flush=True)
            print(f"  ms from the decision: {self.breakdown(s, t_dec, t_write)}", file=sys.stderr, flush=True)
            # put the fire out and rejoin the old primary's server as a standby
            r = self.cli(p, "sim", f"{p}-sim", "normal")  # its site's member runs it
            if r.returncode:
                raise SystemExit(f"pg_switchover: vigil sim {p}-sim normal: {r.stderr}")
            wait(f"trial {i}: the fire at {p} is out", lambda: self.no_fire(s))
            r = subprocess.run(as_pg([f"{ROOT}/scripts/pg-rejoin.sh", "-D", self.pg[p]["dir"], "-s",
                                      self.conninfo(s), "-n", p]), capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"pg_switchover: rejoin {p}: {r.stdout}{r.stderr}")
        ok, out = sql(self.conninfo(self.primary()), "SELECT count(*) FROM orders")
        lost = n_rows - int(out) if ok else -1
        return res, lost

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for s in ("dc1", "dc2"):
            subprocess.run(as_pg([f"{PGBIN}/pg_ctl", "-D", self.pg[s]["dir"], "-m", "immediate",
                                  "stop"]), capture_output=True)


# ---- Patroni ----------------------------------------------------------------

class Patroni:
    def __init__(self, args, w):
        self.args, self.w, self.procs = args, w, []
        self.etcd, self.etcd_peer = free_port(), free_port()
        self.m = {n: {"pg": free_port(), "rest": free_port(), "dir": f"{w}/{n}/data"}
                  for n in ("p1", "p2")}

    def conninfo(self, n):
        return f"host=127.0.0.1 port={self.m[n]['pg']} user=postgres password=pw dbname=postgres"

    def ctl(self, *a):
        return subprocess.run(["patronictl", "-c", f"{self.w}/p1.yml"] + list(a),
                              capture_output=True, text=True, timeout=60)

    def members(self):
        r = self.ctl("list", "-f", "json")
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []

    def leader(self):
        for m in self.members():
            if m.get("Role") == "Leader" and m.get("State") == "running":
                return m["Member"]
        return None

    def healthy(self):
        ms = self.members()
        return (len(ms) == 2 and any(m.get("Role") == "Leader" for m in ms)
                and any(m.get("Role") == "Sync Standby" and m.get("State") in ("streaming", "running")
                        and not m.get("Lag in MB") for m in ms))

    def start(self):
        w = self.w
        os.makedirs(w, exist_ok=True)
        self.procs.append(subprocess.Popen(
            ["etcd", "--enable-v2=true", "--data-dir", f"{w}/etcd", "--listen-client-urls",
             f"http://127.0.0.1:{self.etcd}", "--advertise-client-urls",
             f"http://127.0.0.1:{self.etcd}", "--listen-peer-urls",
             f"http://127.0.0.1:{self.etcd_peer}", "--initial-advertise-peer-urls",
             f"http://127.0.0.1:{self.etcd_peer}", "--initial-cluster",
             f"default=http://127.0.0.1:{self.etcd_peer}"],
            stdout=open(f"{w}/etcd.log", "w"), stderr=subprocess.STDOUT))
        time.sleep(1)
        for n, m in self.m.items():
            os.makedirs(f"{w}/{n}", exist_ok=True)
            with open(f"{w}/{n}.yml", "w") as f:
                f.write(f"""scope: bench
name: {n}
restapi: {{listen: 127.0.0.1:{m['rest']}, connect_address: 127.0.0.1:{m['rest']}}}
etcd: {{host: 127.0.0.1:{self.etcd}}}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters: {{wal_log_hints: 'on', wal_keep_size: 256MB, shared_buffers: 16MB}}
  initdb: [{{encoding: UTF8}}]
postgresql:
  listen: 127.0.0.1:{m['pg']}
  connect_address: 127.0.0.1:{m['pg']}
  data_dir: {m['dir']}
  bin_dir: {PGBIN}
  pgpass: {w}/{n}/pgpass
  authentication:
    superuser: {{username: postgres, password: pw}}
    replication: {{username: replicator, password: rpw}}
    rewind: {{username: postgres, password: pw}}
  parameters: {{unix_socket_directories: '{w}/{n}'}}
  pg_hba: [local all all trust, host all all 127.0.0.1/32 trust, host replication all 127.0.0.1/32 trust]
""")
            chown_pg(w + "/" + n)
        chown_pg(w)
        for n in ("p1", "p2"):
            self.procs.append(subprocess.Popen(as_pg(["patroni", f"{w}/{n}.yml"]),
                                               stdout=open(f"{w}/{n}.log", "w"),
                                               stderr=subprocess.STDOUT))
            if n == "p1":
                wait("Patroni's first leader", lambda: self.leader() == "p1", timeout=90, every=0.5)
        wait("Patroni's sync standby streams", self.healthy, timeout=120, every=0.5)
        wait("the orders table", lambda: sql(self.conninfo("p1"),
                                             "CREATE TABLE orders (id serial PRIMARY KEY, site text)")[0],
             timeout=30, every=0.5)

    def run(self, trials):
        self.start()
        res, n_rows = [], 0
        for i in range(trials):
            wait(f"Patroni trial {i}: healthy", self.healthy, timeout=120, every=0.2)
            lead = self.leader()
            cand = "p2" if lead == "p1" else "p1"
            ok, _ = sql(self.conninfo(lead), f"INSERT INTO orders (site) VALUES ('before-{i}')")
            n_rows += 1 if ok else 0
            t0 = time.time()
            r = self.ctl("switchover", "bench", "--leader", lead, "--candidate", cand, "--force")
            if r.returncode:
                raise SystemExit(f"pg_switchover: patronictl switchover: {r.stdout}{r.stderr}")
            t1 = first_write(self.conninfo(cand), f"p{i}")
            n_rows += 1
            res.append((t1 - t0) * 1000)
            print(f"patroni trial {i + 1}: {lead} -> {cand}: {res[-1]:.0f} ms", file=sys.stderr,
                  flush=True)
        wait("Patroni healthy at the end", self.healthy, timeout=120, every=0.2)
        ok, out = sql(self.conninfo(self.leader()), "SELECT count(*) FROM orders")
        return res, (n_rows - int(out)) if ok else -1

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--only", choices=["vigil", "patroni"],
                    help="run one side only (no ratio; for looking into one side's times)")
    args = ap.parse_args()
    vres = pres = None
    if args.only != "patroni":
        v = Vigil(args, f"{args.workdir}/vigil")
        os.makedirs(v.w, exist_ok=True)
        try:
            vres, vlost = v.run(args.trials)
        finally:
            v.close()
    if args.only != "vigil":
        p = Patroni(args, f"{args.workdir}/patroni")
        try:
            pres, plost = p.run(args.trials)
        finally:
            p.close()
    print(f"{'switchover to writes at the new site (ms)':44} {'median':>8} {'p99':>8} {'trials':>7}")
    if vres:
        dec = [r["from_decision"] for r in vres]
        cmd = [r["from_command"] for r in vres]
        print(f"{'vigil, from the protect decision':44} {statistics.median(dec):8.0f} {pct(dec, 99):8.0f} {len(dec):7}")
        print(f"{'vigil, from the fire command (sim + hold 0)':44} {statistics.median(cmd):8.0f} {pct(cmd, 99):8.0f} {len(cmd):7}")
    if pres:
        print(f"{'patroni, patronictl switchover':44} {statistics.median(pres):8.0f} {pct(pres, 99):8.0f} {len(pres):7}")
    if not (vres and pres):
        print(f"committed rows lost: {vlost if vres else plost}   (one side only: no ratio)")
        sys.exit(0 if (vlost if vres else plost) == 0 else 3)
    ratio = statistics.median(pres) / statistics.median(dec)
    ratio99 = pct(pres, 99) / pct(dec, 99)
    print(f"ratio (Patroni / vigil from the decision): {ratio:.1f}x at the median, "
          f"{ratio99:.1f}x at p99   committed rows lost: vigil {vlost}, Patroni {plost}   "
          "target: >= 5x, 0 lost")
    ok = ratio >= 5 and ratio99 >= 5 and vlost == 0 and plost == 0
    print("target met" if ok else "target NOT met")
    sys.exit(0 if ok else 3)


if __name__ == "__main__":
    main()
