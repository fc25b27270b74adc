#!/usr/bin/env python3
"""Lists the tests a ctest run did not run, with the reason each printed.

A test that exits 77 (SKIP_RETURN_CODE) counts as passed in ctest's total,
so a machine that cannot run the fault tests would still go green. This
reads the run's JUnit file (ctest --output-junit) and prints every skipped
test with the line in which it said why. With --strict (scripts/test.sh
under CI=true) it fails when a test skipped that the allow-list does not
name, or skipped without saying why.

  ctest_skips.py --junit FILE --allow tests/skip-allowed.txt [--strict]

Allow-list: one ctest test name a line, then "#" and why it may skip;
blank lines and lines starting with "#" are comments. An entry without a
reason is an error. Exit 0 if all is well, 1 if --strict and a skip is not
allowed, 2 if the JUnit file or the allow-list cannot be read.
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def read_allow(path):
    """{test name: why}; exits 2 on a malformed entry."""
    allowed = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                name, sep, why = line.partition("#")
                name, why = name.strip(), why.strip()
                if not sep or not why or " " in name:
                    print(f"skips: {path}:{n}: want 'TEST-NAME  # why it may skip', got {line!r}",
                          file=sys.stderr)
                    sys.exit(2)
                allowed[name] = why
    except FileNotFoundError:
        print(f"skips: no allow-list at {path}", file=sys.stderr)
        sys.exit(2)
    return allowed


def reason(output):
    """The lines of a skipped test's output that say why, or None."""
    lines = [x.strip() for x in (output or "").splitlines() if x.strip()]
    said = [x for x in lines if "skip" in x.lower()]
    return said[-3:] if said else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--junit", required=True)
    p.add_argument("--allow", required=True)
    p.add_argument("--strict", action="store_true")
    p.add_argument("--label", default="", help="which run, for the messages")
    a = p.parse_args()
    allowed = read_allow(a.allow)
    label = f" ({a.label})" if a.label else ""
    try:
        root = ET.parse(a.junit).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"skips{label}: cannot read the JUnit file {a.junit}: {e}", file=sys.stderr)
        return 2
    cases = root.iter("testcase")
    skipped, ran = [], 0
    for c in cases:
        if c.get("status") == "notrun" or c.find("skipped") is not None:
            sk = c.find("skipped")
            out = c.findtext("system-out")
            skipped.append((c.get("name"), sk.get("message", "") if sk is not None else "", reason(out), out))
        else:
            ran += 1
    bad = []
    if not skipped:
        print(f"skips{label}: none ({ran} tests ran)")
        return 0
    print(f"skips{label}: {len(skipped)} of {ran + len(skipped)} tests did not run:")
    for name, msg, why, out in skipped:
        tag = ""
        if why is None:
            tag = "  [no reason printed]"
            bad.append(name)
        elif name in allowed:
            tag = f"  [allowed: {allowed[name]}]"
        else:
            bad.append(name)
        print(f"  {name} ({msg or 'not run'}){tag}")
        if why:
            for line in why:
                print(f"      {line}")
        else:
            tail = [x for x in (out or "").splitlines() if x.strip()][-3:]
            for line in tail or ["(no output)"]:
                print(f"      | {line}")
    if bad and a.strict:
        print(f"skips{label}: FAILED: {len(bad)} test(s) skipped that {a.allow} does not allow, or "
              f"skipped without saying why: {' '.join(bad)}", file=sys.stderr)
        print("  (a skip means the test proved nothing here: install what it needs, or add it to the "
              "allow-list with the reason it may skip)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
