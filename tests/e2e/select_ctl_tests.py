#!/usr/bin/python3
"""Selects etcd 3.4's `TestCtlV3*` e2e tests that need neither client TLS nor
auth, by reading the e2e test sources.

usage: select_ctl_tests.py E2E_SOURCE_DIR [--members N] [--explain]

Prints one selection per line (sorted, de-duplicated): a test name, or
`TestName/Subtest` when only some subtests of a table-driven test qualify
(the runner runs the subtests having Subtest as a `_`-separated word of
their name: `-test.run '^TestName$/(^|_)Subtest($|_)'`).
--members 1 or 3 keeps only the tests that start that many members;
--explain prints every rejected test and why on stderr.

Rule. A test is rejected when it is an auth/role/user test (file
ctl_v3_auth*, ctl_v3_role*, ctl_v3_user*, or "Auth" in the name). Otherwise:

  - Tests whose body runs `testCtl(t, fn, opts...)` are selected when their
    only withCfg(...) argument, if any, is configNoTLS or configPeerTLS
    (plain-text clients; peers plain-text or TLS from certificate files).
    Tests without withCfg run the harness default configAutoTLS (peer
    auto-TLS, plain-text clients), which is accepted. An inline
    etcdProcessClusterConfig literal is rejected. Without withQuorum() the
    harness reduces the config to one member; with withQuorum() it starts
    the config's 3 members (EndpointHealth/Status/HashKV, GetQuorum,
    MemberRemove and its NoTLS/PeerTLS variants).
  - Tests with a custom body are selected per subtest when the body is a
    table of `"Name": {cfg: configX}` entries run through a helper that
    starts the cluster with `setupEtcdctlTest(t, &cfg, quorum)`: each entry
    whose configX is accepted by the rule above becomes `TestName/Name`
    (TestCtlV3MoveLeaderScenarios/Insecure: configNoTLS, 3 members; its
    Secure entries use configTLS, client TLS, and are rejected). Custom
    bodies that use the v2 API (TestCtlV3Migrate) or have no such table are
    rejected.

Members: the accepted configs all have clusterSize 3, so a quorum test
starts members testname0..2 with client port 20000+5*i and peer port
20001+5*i (20000/20001, 20005/20006, 20010/20011); a single-member test
uses 20000/20001 only. run_etcd_e2e.sh serialises runs on these ports.
"""
import argparse
import glob
import os
import re
import sys

ALLOWED_CFGS = {"configNoTLS", "configPeerTLS"}
AUTH_FILE_PREFIXES = ("ctl_v3_auth", "ctl_v3_role", "ctl_v3_user")
QUORUM_MEMBERS = 3  # clusterSize of every config in ALLOWED_CFGS and configAutoTLS


def function_bodies(src_dir):
    """Yields (file name, function name, body with comments and runs of
    whitespace collapsed) for every top-level func in ctl_v3*_test.go."""
    for path in sorted(glob.glob(os.path.join(src_dir, "ctl_v3*_test.go"))):
        src = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^func (\w+)\([^)]*\)[^{\n]*\{", src, re.M):
            end = matching_brace(src, m.end())
            body = re.sub(r"//[^\n]*", "", src[m.end():end])
            yield os.path.basename(path), m.group(1), " ".join(body.split())


# Braces, and Go literals and comments (skipped whole while counting braces).
_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|`[^`]*`|\'(?:\\.|[^\'\\])+\'|//[^\n]*|/\*.*?\*/|[{}]',
                    re.S)


def matching_brace(src, i):
    """Index of the '}' closing the block whose '{' ends just before i."""
    depth = 1
    for tok in _TOKEN.finditer(src, i):
        depth += (tok.group() == "{") - (tok.group() == "}")
        if depth == 0:
            return tok.start()
    raise ValueError("unbalanced braces")


def config_verdict(cfg):
    return None if cfg in ALLOWED_CFGS else "config " + cfg


def testctl_verdict(body):
    """(members, reason) for a body that runs testCtl(t, fn, opts...)."""
    members = QUORUM_MEMBERS if "withQuorum()" in body else 1
    cfgs = re.findall(r"withCfg\((\w+)\)", body)
    if "withCfg(" in body and not cfgs:
        return members, "inline config"
    bad = [c for c in cfgs if c not in ALLOWED_CFGS]
    if bad:
        return members, "config " + ",".join(bad)
    return members, None


def custom_verdicts(name, body, helpers):
    """[(selection, members, reason)] for a test with a custom body."""
    called = re.findall(r"\b(\w+)\(t,", body)
    full = " ".join([body] + [helpers[c] for c in called if c in helpers])
    if re.search(r'"ETCDCTL_API", "2"', full):
        return [(name, 1, "v2 API")]
    table = re.findall(r'"(\w+)": \{ ?cfg: (\w+) ?\}', body)
    setup = re.search(r"setupEtcdctlTest\(t, [^,]+, (true|false)\)", full)
    if not table or not setup:
        return [(name, 1, "custom body")]
    members = QUORUM_MEMBERS if setup.group(1) == "true" else 1
    return [(name + "/" + sub, members, config_verdict(cfg)) for sub, cfg in table]


def main():
    parser = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1][len("usage: "):])
    parser.add_argument("src_dir")
    parser.add_argument("--members", type=int, choices=(1, QUORUM_MEMBERS))
    parser.add_argument("--explain", action="store_true")
    opts = parser.parse_args()
    explain, members_wanted = opts.explain, opts.members
    funcs = list(function_bodies(opts.src_dir))
    helpers = {name: body for _, name, body in funcs}
    verdicts = []
    for fname, name, body in funcs:
        if not name.startswith("TestCtlV3"):
            continue
        if fname.startswith(AUTH_FILE_PREFIXES) or "Auth" in name:
            verdicts.append((name, 1, "auth"))
        elif re.search(r"\btestCtl\(t, \w+", body):
            verdicts.append((name,) + testctl_verdict(body))
        else:
            verdicts.extend(custom_verdicts(name, body, helpers))
    selected = set()
    for name, members, why in verdicts:
        if why is None and members_wanted in (None, members):
            selected.add(name)
        elif explain and why is not None:
            print("skip %-50s %s" % (name, why), file=sys.stderr)
    for name in sorted(selected):
        print(name)


if __name__ == "__main__":
    main()
