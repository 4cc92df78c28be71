#!/usr/bin/python3
"""Selects etcd 3.4's single-member `TestCtlV3*` e2e tests that need neither
client TLS nor auth, by reading the e2e test sources.

usage: select_ctl_tests.py E2E_SOURCE_DIR [--explain]

Prints one test name per line (sorted, de-duplicated). A test is selected
when its body runs `testCtl(t, fn, opts...)` and
  - it is not an auth/role/user test (file ctl_v3_auth*, ctl_v3_role*,
    ctl_v3_user*, or "Auth" in the name),
  - it does not use withQuorum() (3-member cluster),
  - its only withCfg(...) argument, if any, is configNoTLS or configPeerTLS (peer TLS
    from certificate files, plain-text clients).
Tests without withCfg run the harness default (configAutoTLS reduced to one
member: peer auto-TLS, plain-text clients), which is accepted.
Tests with a custom body (e.g. TestCtlV3Migrate, which needs the v2 store,
TestCtlV3MoveLeaderScenarios, which needs 3 members) are rejected.
"""
import glob
import os
import re
import sys

ALLOWED_CFGS = {"configNoTLS", "configPeerTLS"}
AUTH_FILE_PREFIXES = ("ctl_v3_auth", "ctl_v3_role", "ctl_v3_user")


def test_bodies(src_dir):
    for path in sorted(glob.glob(os.path.join(src_dir, "ctl_v3*_test.go"))):
        src = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^func (TestCtlV3\w*)\(t \*testing\.T\)\s*\{", src, re.M):
            i, depth = m.end(), 1
            while depth:
                depth += (src[i] == "{") - (src[i] == "}")
                i += 1
            body = re.sub(r"//[^\n]*", "", src[m.end():i - 1])
            body = " ".join(body.split())
            yield os.path.basename(path), m.group(1), body


def verdict(fname, name, body):
    if fname.startswith(AUTH_FILE_PREFIXES) or "Auth" in name:
        return "auth"
    if not re.search(r"\btestCtl\(t, \w+", body):
        return "custom body"
    if "withQuorum()" in body:
        return "3 members"
    cfgs = re.findall(r"withCfg\((\w+)\)", body)
    if "withCfg(" in body and not cfgs:
        return "inline config"
    bad = [c for c in cfgs if c not in ALLOWED_CFGS]
    if bad:
        return "config " + ",".join(bad)
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    explain = "--explain" in sys.argv[2:]
    selected = set()
    for fname, name, body in test_bodies(sys.argv[1]):
        why = verdict(fname, name, body)
        if why is None:
            selected.add(name)
        elif explain:
            print("skip %-50s %s" % (name, why), file=sys.stderr)
    for name in sorted(selected):
        print(name)


if __name__ == "__main__":
    main()
