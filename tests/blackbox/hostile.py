#!/usr/bin/env python3
"""Hostile requests against a running vigild, as an attacker with a token of
each role would send them (driven by tests/blackbox/hostile.sh).

Each case sends raw bytes and asserts: the status is one of the expected
ones; every 4xx/5xx answer is a JSON object with an "error" string; a 405
carries an Allow header; the daemon still answers /healthz; and nothing
stored changed (the commit index and every object are the same).

usage: hostile.py PORT TOKENS_JSON
"""
import json
import socket
import sys
import time

PORT = int(sys.argv[1])
TOKENS = json.load(open(sys.argv[2]))
failures = []
n_cases = 0


def send_raw(data, timeout=10):
    """Sends bytes, returns (status, headers, body) of the first answer."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if not lines or not lines[0].startswith(b"HTTP/1."):
            return None, {}, buf
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body[:length]
    finally:
        s.close()


def request(method, path, role=None, headers=None, body=b""):
    if isinstance(path, str):
        path = path.encode()
    if isinstance(body, str):
        body = body.encode()
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: t", b"Connection: close"]
    if role:
        lines.append(b"Authorization: Bearer " + TOKENS[role].encode())
    for k, v in (headers or {}).items():
        lines.append((k.encode() if isinstance(k, str) else k) + b": " +
                     (v.encode() if isinstance(v, str) else v))
    if body or method in ("PUT", "POST"):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return send_raw(b"\r\n".join(lines) + b"\r\n\r\n" + body)


def stored():
    """What the daemon holds: commit index and every object."""
    st, _, b = request("GET", "/api/v1/status", "admin")
    assert st == 200, f"status answered {st}"
    idx = json.loads(b)["commit_index"]
    st, _, b = request("GET", "/api/v1/objects", "admin")
    assert st == 200, f"objects answered {st}"
    return idx, json.loads(b)["items"]


def alive():
    try:
        st, _, b = send_raw(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=5)
        return st == 200 and b == b"ok\n"
    except OSError:
        return False


def case(name, expect, method=None, path=None, role=None, headers=None, body=b"",
         raw=None, changes=False, html=False):
    global n_cases
    n_cases += 1
    before = stored()
    try:
        status, hdrs, resp = send_raw(raw) if raw is not None else \
            request(method, path, role, headers, body)
    except OSError as e:
        failures.append(f"{name}: no answer ({e})")
        status, hdrs, resp = None, {}, b""
    problems = []
    if status not in expect:
        problems.append(f"status {status}, expected {sorted(expect)}; body {resp[:200]!r}")
    if status and status >= 400 and html:
        # pages for people (the acknowledge link) answer in HTML
        if not hdrs.get("content-type", "").startswith("text/html") or b"<h1>" not in resp:
            problems.append(f"error page is not HTML: {resp[:200]!r}")
    elif status and status >= 400:
        try:
            doc = json.loads(resp)
            if not isinstance(doc, dict) or not isinstance(doc.get("error"), str) \
                    or not doc["error"]:
                problems.append(f"error body without an 'error' string: {resp[:200]!r}")
        except ValueError:
            problems.append(f"error body is not JSON: {resp[:200]!r}")
    if status == 405 and not hdrs.get("allow"):
        problems.append("405 without an Allow header")
    if not alive():
        problems.append("vigild stopped answering /healthz")
        failures.append(f"{name}: " + "; ".join(problems))
        report_and_exit()
    if not changes and stored() != before:
        problems.append("stored data changed")
    if problems:
        failures.append(f"{name}: " + "; ".join(problems))
    else:
        print(f"ok: {name} -> {status}")


def report_and_exit():
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"{n_cases} hostile cases, {len(failures)} failed")
    sys.exit(1 if failures else 0)


ROLES = ["admin", "operator", "viewer", "auditor", "external-reviewer"]
SITE = '{"kind":"Site","name":"h1","spec":{"location":"x"}}'

# --- paths: invalid UTF-8, NUL and control bytes, overlong and surrogates
for role in ROLES:
    case(f"{role}: GET object with %FF in the path", {400},
         "GET", "/api/v1/objects/%FF", role)
case("viewer: %00 inside a name is refused, not shortened", {400},
     "GET", "/api/v1/objects/Site/dc1%00evil", "viewer")
case("viewer: newline in a name", {400}, "GET", "/api/v1/objects/Site/a%0Ab", "viewer")
case("viewer: DEL byte in a name", {400}, "GET", "/api/v1/objects/Site/a%7Fb", "viewer")
case("viewer: truncated UTF-8 sequence", {400}, "GET", "/api/v1/objects/%C3", "viewer")
case("viewer: overlong encoding of '/'", {400}, "GET", "/api/v1/objects/%C0%AF", "viewer")
case("viewer: UTF-16 surrogate in UTF-8", {400}, "GET", "/api/v1/objects/%ED%A0%80", "viewer")
case("viewer: raw 0xFF byte in the request line", {400},
     raw=b"GET /api/v1/objects/\xff HTTP/1.1\r\nAuthorization: Bearer " +
     TOKENS["viewer"].encode() + b"\r\nConnection: close\r\n\r\n")
case("viewer: valid UTF-8 name that does not exist", {404},
     "GET", "/api/v1/objects/Site/%C3%A9t%C3%A9", "viewer")
case("viewer: unknown kind", {404}, "GET", "/api/v1/objects/NoSuchKind", "viewer")
case("viewer: unknown kind with invalid UTF-8 around it", {400},
     "GET", "/api/v1/objects/Si%FFte/x", "viewer")
case("viewer: too many segments", {404}, "GET", "/api/v1/objects/Site/a/b/c/d/e/f/g/h", "viewer")
case("viewer: 12 KB path", {400, 404, 414}, "GET", "/api/v1/objects/Site/" + "a" * 12000, "viewer")
case("viewer: PUT with %2F inside the name", {403}, "PUT", "/api/v1/objects/Site/a%2Fb",
     "viewer", body=SITE)
case("admin: PUT with %2F inside the name", {400}, "PUT", "/api/v1/objects/Site/a%2Fb",
     "admin", body=SITE)

# --- query strings
case("viewer: selector with invalid UTF-8", {400}, "GET", "/api/v1/objects/Site?selector=%FF", "viewer")
case("viewer: selector with NUL", {400}, "GET", "/api/v1/objects/Site?selector=a%00=b", "viewer")
case("viewer: malformed selector", {400}, "GET", "/api/v1/objects/Site?selector=(((", "viewer")
case("viewer: a query parameter given twice", {400},
     "GET", "/api/v1/objects/Site?selector=a=b&selector=c=d", "viewer")
case("viewer: control byte in a query key", {400}, "GET", "/api/v1/status?a%01=1", "viewer")

# --- headers
case("no token", {401}, "GET", "/api/v1/status")
case("token with invalid UTF-8", {401}, "GET", "/api/v1/status",
     headers={"Authorization": b"Bearer vgt_\xff\xfe"})
case("token with a NUL byte", {400, 401},
     raw=b"GET /api/v1/status HTTP/1.1\r\nAuthorization: Bearer vgt_\x00x\r\nConnection: close\r\n\r\n")
case("forged token of the right shape", {401}, "GET", "/api/v1/status",
     headers={"Authorization": "Bearer vgt_0000000000000000_" + "A" * 43})
case("headers past 16 KiB", {400, 413, 431}, "GET", "/api/v1/status", "viewer",
     headers={"X-Pad": "a" * 20000})
case("negative Content-Length", {400},
     raw=b"PUT /api/v1/objects/Site/h1 HTTP/1.1\r\nContent-Length: -1\r\nConnection: close\r\n\r\n")
case("Content-Length past 2^64", {400, 413},
     raw=b"PUT /api/v1/objects/Site/h1 HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n"
     b"Connection: close\r\n\r\n")
case("bad chunk size", {400, 413},
     raw=b"POST /api/v1/write HTTP/1.1\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer " +
     TOKENS["admin"].encode() + b"\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
case("garbage request line", {400}, raw=b"GARBAGE\r\n\r\n")
case("unknown method", {400}, raw=b"FROB /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
case("If-Match not a number", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     {"If-Match": "abc"}, SITE)
case("If-Match past 2^63", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     {"If-Match": "99999999999999999999999"}, SITE)
case("If-Match negative", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     {"If-Match": "-1"}, SITE)
case("If-Match with leading plus", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     {"If-Match": "+5"}, SITE)
case("If-Match of a revision that does not match", {409}, "PUT", "/api/v1/objects/Site/h1",
     "admin", {"If-Match": "5"}, SITE)

# --- methods: every route answers 405 with Allow for one it does not serve
for method, path in [("POST", "/api/v1/objects"), ("PATCH", "/api/v1/objects/Site/h1"),
                     ("DELETE", "/api/v1/kinds"), ("PUT", "/api/v1/status"),
                     ("POST", "/healthz"), ("DELETE", "/readyz"), ("POST", "/metrics"),
                     ("PUT", "/api/v1/watch"), ("OPTIONS", "/api/v1/tokens"),
                     ("GET", "/api/v1/write"), ("GET", "/api/v1/readings"),
                     ("POST", "/api/v1/series"), ("GET", "/api/v1/cluster/switchover"),
                     ("PUT", "/api/v1/events"), ("GET", "/api/v1/sim/x")]:
    case(f"{method} {path}: 405", {405}, method, path, "admin")

# --- roles: a reader acts on nothing
for role in ["viewer", "auditor", "external-reviewer"]:
    case(f"{role}: PUT object", {403}, "PUT", "/api/v1/objects/Site/h1", role, body=SITE)
    case(f"{role}: DELETE object", {403}, "DELETE", "/api/v1/objects/Site/dc1", role)
    case(f"{role}: create a token", {403}, "POST", "/api/v1/tokens", role,
         body='{"role":"admin"}')
case("viewer: list tokens", {403}, "GET", "/api/v1/tokens", "viewer")
case("viewer: push readings", {403}, "POST", "/api/v1/write", "viewer", body="x value=1")
case("viewer: trigger a scenario", {403}, "POST", "/api/v1/sim/h-sim", "viewer",
     body='{"scenario":"fire"}')
case("viewer: switchover", {403}, "POST", "/api/v1/cluster/switchover", "viewer", body="{}")
case("operator: forced failover", {403}, "POST", "/api/v1/cluster/failover", "operator",
     body='{"force":true,"accept_data_loss":true,"reason":"x"}')
case("operator: create a token", {403}, "POST", "/api/v1/tokens", "operator",
     body='{"role":"admin"}')
case("operator: revoke a token", {403}, "DELETE", "/api/v1/tokens/vgt_0000000000000000", "operator")
case("viewer: metrics are readable", {200}, "GET", "/metrics", "viewer")

# --- bodies
case("body not JSON", {400}, "PUT", "/api/v1/objects/Site/h1", "admin", body="{nope")
case("body with invalid UTF-8 in a string", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     body=b'{"spec":{"location":"\xff\xfe"}}')
case("body nested 100,000 deep", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     body="[" * 100000 + "]" * 100000)
case("name with \\u0000", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     body='{"name":"h1\\u0000x","spec":{"location":"x"}}')
case("number past a double", {400}, "PUT", "/api/v1/objects/Site/h1", "admin",
     body='{"spec":{"location":"x","pue_target":1e999}}')
case("body past 1 MiB", {413}, "PUT", "/api/v1/objects/Site/h1", "admin",
     body='{"spec":{"location":"' + "a" * (1 << 20) + '"}}')
case("kind in the body differs from the path", {400}, "PUT", "/api/v1/objects/Site/h1",
     "admin", body='{"kind":"Zone","spec":{}}')
case("empty body", {400}, "PUT", "/api/v1/objects/Site/h1", "admin", body="")
case("delete what does not exist", {404}, "DELETE", "/api/v1/objects/Site/nothere", "admin")
case("token request with an unknown role", {400}, "POST", "/api/v1/tokens", "admin",
     body='{"role":"god"}')
case("token request with a hostile name", {400}, "POST", "/api/v1/tokens", "admin",
     body='{"role":"viewer","name":"../\\u0000\\n"}')
case("token request with an unknown field", {400}, "POST", "/api/v1/tokens", "admin",
     body='{"role":"viewer","x":1}')
case("revoke a token id with invalid UTF-8", {400}, "DELETE", "/api/v1/tokens/%FF", "admin")

# --- numbers in queries
for q, why in [("from=abc", "not a number"), ("from=-1", "negative"),
               ("from=18446744073709551616", "past 2^64"), ("from=999999999", "beyond the head"),
               ("from=+1", "leading plus"), ("kind=%FF", "invalid UTF-8 kind")]:
    case(f"watch?{q} ({why})", {400}, "GET", "/api/v1/watch?" + q, "viewer")
for q in ["limit=0", "limit=abc", "limit=99999999999999999999", "severity=%00", "limit="]:
    case(f"events?{q}", {400}, "GET", "/api/v1/events?" + q, "viewer")
for q in ["sensor=h-inlet&from=-99999999999999999d", "sensor=h-inlet&from=99999999999999999999",
          "sensor=h-inlet&from=-9223372036854775807s", "sensor=h-inlet&step=-1",
          "sensor=h-inlet&step=99999999999999d", "sensor=h-inlet&step=9223372036854775807",
          "sensor=h-inlet&to=abc", "sensor=h-inlet&from=%201", "sensor=%FF", ""]:
    case(f"series?{q}", {400}, "GET", "/api/v1/series?" + q, "viewer")
case("series of an undeclared sensor", {404}, "GET", "/api/v1/series?sensor=nothere", "viewer")

# --- readings
case("line protocol: unknown precision", {400}, "POST", "/api/v1/write?precision=zz", "admin",
     body="h-inlet value=1")
case("line protocol: garbage", {400}, "POST", "/api/v1/write", "admin", body="\x01\x02\x03")
case("line protocol: empty body", {400}, "POST", "/api/v1/write", "admin", body="")
case("JSON readings: not JSON", {400}, "POST", "/api/v1/readings", "admin", body="[")
case("JSON readings: nested deep", {400}, "POST", "/api/v1/readings", "admin",
     body='{"readings":' + "[" * 50000 + "]" * 50000 + "}")
case("scenario for an unknown device", {404}, "POST", "/api/v1/sim/nothere", "admin",
     body='{"scenario":"fire"}')
case("scenario body without a scenario", {400}, "POST", "/api/v1/sim/h-sim", "admin", body="{}")
case("sensors?site= with invalid UTF-8", {400}, "GET", "/api/v1/sensors?site=%FF", "viewer")
case("sensors?zone= with NUL", {400}, "GET", "/api/v1/sensors?zone=a%00", "auditor")
case("sensors of an unknown site: an empty list", {200}, "GET", "/api/v1/sensors?site=nowhere",
     "external-reviewer")
for method, path in [("POST", "/api/v1/facility"), ("PUT", "/api/v1/rules"),
                     ("DELETE", "/api/v1/alerts"), ("POST", "/api/v1/sensors")]:
    case(f"{method} {path}: 405", {405}, method, path, "viewer")
case("external-reviewer: metrics", {403}, "GET", "/metrics", "external-reviewer")
case("auditor: kinds are readable", {200}, "GET", "/api/v1/kinds", "auditor")
case("training: an unknown status", {400}, "GET", "/api/v1/training?status=late", "viewer")
case("training: an empty status in a list", {400}, "GET", "/api/v1/training?status=ok,,never",
     "viewer")
case("training: a 5000-byte status", {400}, "GET", "/api/v1/training?status=" + "o" * 5000,
     "viewer")
case("training: person with NUL", {400}, "GET", "/api/v1/training?person=a%00", "auditor")
case("training: an unknown person lists nothing", {200}, "GET",
     "/api/v1/training?person=%C3%A9t%C3%A9&course=x", "external-reviewer")
case("training: POST", {405}, "POST", "/api/v1/training", "admin", body="{}")
case("training: no token", {401}, "GET", "/api/v1/training")
case("services: viewer reads them", {200}, "GET", "/api/v1/services", "viewer")
case("services: auditor reads them", {200}, "GET", "/api/v1/services", "auditor")
case("services: POST", {405}, "POST", "/api/v1/services", "admin", body="{}")
case("services: no token", {401}, "GET", "/api/v1/services")
case("services: a Service with a relative hook", {400}, "PUT", "/api/v1/objects/Service/s1",
     "admin", body='{"spec":{"agent":"exec","before":["rm"],"sites":[{"name":"dc1"}]}}')
case("services: a Service with a 5000-byte conninfo", {400}, "PUT",
     "/api/v1/objects/Service/s1", "admin",
     body='{"spec":{"agent":"postgresql","sites":[{"name":"dc1","conninfo":"' + "h" * 5000 +
     '"}]}}')
case("services: a Service with nine sites", {400}, "PUT", "/api/v1/objects/Service/s1", "admin",
     body='{"spec":{"agent":"exec","after":["/bin/true"],"sites":[' +
     ",".join('{"name":"s%d"}' % i for i in range(9)) + ']}}')
case("training: a Completion on 2026-02-30", {400}, "PUT", "/api/v1/objects/Completion/c1",
     "admin", body='{"spec":{"person":"a","course":"b","completed_on":"2026-02-30"}}')
case("cluster status on a standalone member", {404}, "GET", "/api/v1/cluster", "viewer")
case("switchover on a standalone member", {404}, "POST", "/api/v1/cluster/switchover",
     "admin", body="{}")

# --- protect: the freeze is an operator's call; its reason is checked first
for role in ["viewer", "auditor", "external-reviewer"]:
    for action in ["freeze", "unfreeze"]:
        case(f"{role}: {action} protect", {403}, "POST", f"/api/v1/protect/{action}", role,
             body='{"reason":"x"}')
for body in ['{}', '{"reason":""}', '{"reason":5}', '{"reason":"a\\u0000b"}',
             '{"reason":"a\\nb"}', '{"reason":"' + "x" * 1001 + '"}', '[]', '"x"',
             '{"reason":"x","until":1}', 'nope']:
    case(f"protect freeze body {body[:24]!r}", {400}, "POST", "/api/v1/protect/freeze",
         "operator", body=body)
case("protect unfreeze with an unknown field", {400}, "POST", "/api/v1/protect/unfreeze",
     "admin", body='{"why":"x"}')
case("protect status", {200}, "GET", "/api/v1/protect", "external-reviewer")
case("protect status: no token", {401}, "GET", "/api/v1/protect")
for method, path in [("DELETE", "/api/v1/protect"), ("GET", "/api/v1/protect/freeze"),
                     ("PUT", "/api/v1/protect/unfreeze")]:
    case(f"{method} {path}: 405", {405}, method, path, "admin")

# --- drills: running one is an operator's call; the body is checked before
# anything else, and a standalone member has no other site to drill with
for role in ["viewer", "auditor", "external-reviewer"]:
    case(f"{role}: run a drill", {403}, "POST", "/api/v1/drills", role, body="{}")
for body in ['{"switch_back":"yes"}', '{"reason":5}', '{"reason":"a\\nb"}', '[]', 'nope',
             '{"reason":"x","at":1}', '{"reason":"' + "x" * 1001 + '"}']:
    case(f"drill run body {body[:24]!r}", {400}, "POST", "/api/v1/drills", "operator",
         body=body)
case("drill run on a standalone member", {409}, "POST", "/api/v1/drills", "operator",
     body='{"switch_back":true}')
case("drill list", {200}, "GET", "/api/v1/drills", "external-reviewer")
case("drill list: no token", {401}, "GET", "/api/v1/drills")
case("a drill that does not exist", {404}, "GET", "/api/v1/drills/20260101-000000-000", "viewer")
case("a drill id of odd bytes", {404}, "GET", "/api/v1/drills/%E2%80%AE..%2F", "viewer")
for method, path in [("DELETE", "/api/v1/drills"), ("PUT", "/api/v1/drills/x")]:
    case(f"{method} {path}: 405", {405}, method, path, "admin")

# --- incidents, on-call and acknowledge links
for role in ["viewer", "auditor", "external-reviewer"]:
    for action in ["ack", "resolve", "notes"]:
        case(f"{role}: {action} an incident", {403}, "POST", f"/api/v1/incidents/1/{action}",
             role, body='{"text":"x"}')
for bad_id, want in [("0", 404), ("abc", 404), ("-1", 404), ("18446744073709551616", 404),
                     ("99", 404), ("%FF", 400), ("1%00", 400), ("01", 404)]:
    case(f"incident id {bad_id!r}", {want}, "GET", f"/api/v1/incidents/{bad_id}", "viewer")
    case(f"ack incident id {bad_id!r}", {want}, "POST", f"/api/v1/incidents/{bad_id}/ack",
         "operator")
for q in ["status=bogus", "status=%FF", "limit=0", "limit=abc", "limit=99999999999999999999",
          "limit=-5", "site=%00"]:
    case(f"incidents?{q}", {400}, "GET", "/api/v1/incidents?" + q, "viewer")
case("incidents: an empty list", {200}, "GET", "/api/v1/incidents?status=all", "auditor")
for q in ["at=-1", "at=abc", "at=99999999999999999999", "schedule=%FF"]:
    case(f"oncall?{q}", {400}, "GET", "/api/v1/oncall?" + q, "viewer")
case("oncall of an unknown schedule", {404}, "GET", "/api/v1/oncall?schedule=nothere", "viewer")
for q in ["", "schedule=s&from=5&to=1", "schedule=s&from=0&to=99999999999999",
          "schedule=s&to=abc"]:
    case(f"oncall/shifts?{q}", {400}, "GET", "/api/v1/oncall/shifts?" + q, "viewer")
case("shifts of an unknown schedule", {404}, "GET", "/api/v1/oncall/shifts?schedule=nothere",
     "viewer")
case("calendar of an unknown schedule", {404}, "GET",
     "/api/v1/schedules/nothere/calendar.ics", "viewer")
case("calendar with %FF", {400}, "GET", "/api/v1/schedules/%FF/calendar.ics", "viewer")
for token in ["x", "A" * 200, "A" * 5000, "AAAA-_" * 20]:
    for method in ["GET", "POST"]:
        case(f"{method} ack link {token[:12]!r}", {404}, method, f"/ack/{token}", html=True)
case("ack link with NUL", {400}, "GET", "/ack/%00")
case("ack link with invalid UTF-8", {400}, "GET", "/ack/%FF%FE")
for method, path in [("DELETE", "/api/v1/incidents"), ("PUT", "/api/v1/incidents/1"),
                     ("GET", "/api/v1/incidents/1/ack"), ("POST", "/api/v1/oncall"),
                     ("PUT", "/ack/x")]:
    case(f"{method} {path}: 405", {405}, method, path, "admin")

# --- the dashboard: files, login, sessions, logins
case("dashboard page", {200}, "GET", "/")
case("dashboard file that is not there", {404}, "GET", "/ui/nothere.js")
case("dashboard file with NUL", {400}, "GET", "/ui/app.js%00")
case("dashboard file by a path", {404}, "GET", "/ui/..%2Fapp.js")
case("dashboard file, two segments: an unknown path, so a token first", {401}, "GET", "/ui/a/app.js")
for body in ["", "[", "[]", "{}", '{"token":1}', '{"person":"x"}', '{"password":null}',
             '{"token":"' + "A" * 100000 + '"}']:
    case(f"login body {body[:20]!r}", {400, 401}, "POST", "/api/v1/login", body=body)
for body in ['{"token":"vgt_0000000000000000_' + "A" * 43 + '"}',
             '{"person":"nobody","password":"0123456789"}',
             '{"person":"' + "p" * 5000 + '","password":"x"}',
             '{"person":"a\\u00e9","password":"' + "x" * 100000 + '"}']:
    case(f"login refused {body[:30]!r}", {401, 429}, "POST", "/api/v1/login", body=body)
for cookie in ["vg_session=", "vg_session=x", "vg_session=" + "A" * 190, "vg_session=" + "A" * 5000,
               "a=b; vg_session=%00; c", "vg_session=\xff\xfe"]:
    case(f"session cookie {cookie[:24]!r}", {401}, "GET", "/api/v1/session",
         headers={"Cookie": cookie})
    case(f"change with session cookie {cookie[:24]!r}", {401}, "POST",
         "/api/v1/incidents/1/ack", headers={"Cookie": cookie})
case("logout without a session", {200}, "POST", "/api/v1/logout")
case("session of a token", {200}, "GET", "/api/v1/session", "viewer")
for role in ["operator", "viewer", "auditor", "external-reviewer"]:
    case(f"{role}: list logins", {403}, "GET", "/api/v1/logins", role)
    case(f"{role}: set a password", {403}, "PUT", "/api/v1/logins/a", role,
         body='{"password":"0123456789"}')
    case(f"{role}: remove a login", {403}, "DELETE", "/api/v1/logins/a", role)
case("password for an unknown person", {404}, "PUT", "/api/v1/logins/nobody", "admin",
     body='{"password":"0123456789"}')
case("login of a person with %FF", {400}, "PUT", "/api/v1/logins/%FF", "admin",
     body='{"password":"0123456789"}')
case("remove a login that is not there", {404}, "DELETE", "/api/v1/logins/nobody", "admin")
for method, path in [("GET", "/api/v1/login"), ("PUT", "/api/v1/session"), ("POST", "/"),
                     ("POST", "/api/v1/ui/events"), ("POST", "/api/v1/logins")]:
    case(f"{method} {path}: 405", {405}, method, path, "admin")

report_and_exit()
