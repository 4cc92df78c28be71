#!/usr/bin/env python3
"""Summarises router_vs_nginx_haproxy.sh runs: one table of means over rounds, then ratios.

usage: router_bench_summary.py RUNS_JSONL [SUMMARY_TXT]

RUNS_JSONL has one JSON object per line:
  {"kind": "run", "threads": N, "size": "1k", "program": P, "round": R, "cpu_s": S,
   "wrk": {"requests", "duration_us", "bytes", "connect", "read", "write", "status",
           "timeout", "p50_us", "p99_us", "p999_us"}}
  {"kind": "rss", "threads": N, "size": "1k", "program": P, "vmhwm_kib": K, "processes": C}
  {"kind": "meta", ...}  (printed as the header)
Exit status 1 when any run had a non-2xx answer or a socket error, else 0.
"""
import json
import statistics
import sys

PROGRAMS = ("gridrouter", "nginx", "haproxy")
# Targets of gridrouter against the references (req/s ratio at least; p99 ratio below 1).
TARGET_RPS_VS_NGINX = 1.3
TARGET_RPS_VS_HAPROXY = 1.1


def size_key(size):
    digits = size.rstrip("kKmM")
    scale = {"k": 1024, "m": 1024 * 1024}.get(size[-1].lower(), 1)
    return int(digits) * scale


def load(path):
    runs, rss, meta = {}, {}, {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec["kind"] == "meta":
                meta = rec
                continue
            key = (rec["threads"], rec["size"], rec["program"])
            if rec["kind"] == "run":
                runs.setdefault(key, []).append(rec)
            elif rec["kind"] == "rss":
                rss[key] = rec
    return runs, rss, meta


def per_run(rec):
    w = rec["wrk"]
    secs = w["duration_us"] / 1e6
    socket_errors = w["connect"] + w["read"] + w["write"] + w["timeout"]
    return {
        "rps": w["requests"] / secs if secs else 0.0,
        "p50": w["p50_us"] / 1000.0,
        "p99": w["p99_us"] / 1000.0,
        "p999": w["p999_us"] / 1000.0,
        "non2xx": w["status"],
        "sockerr": socket_errors,
        "bytes_per_req": w["bytes"] / w["requests"] if w["requests"] else 0.0,
        "cpu_us_per_req": rec["cpu_s"] * 1e6 / w["requests"] if w["requests"] else 0.0,
        "round": rec["round"],
    }


def summarise(runs, rss):
    rows = {}
    for key, recs in runs.items():
        rs = [per_run(r) for r in sorted(recs, key=lambda r: r["round"])]
        rps = [r["rps"] for r in rs]
        rows[key] = {
            "rounds": len(rs),
            "rps": statistics.mean(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "rps_each": rps,
            "p50": statistics.mean(r["p50"] for r in rs),
            "p99": statistics.mean(r["p99"] for r in rs),
            "p999": statistics.mean(r["p999"] for r in rs),
            "non2xx": sum(r["non2xx"] for r in rs),
            "sockerr": sum(r["sockerr"] for r in rs),
            "bytes_per_req": statistics.mean(r["bytes_per_req"] for r in rs),
            "cpu_us_per_req": statistics.mean(r["cpu_us_per_req"] for r in rs),
            "rss_mib": rss[key]["vmhwm_kib"] / 1024.0 if key in rss else None,
            "procs": rss[key]["processes"] if key in rss else None,
        }
    return rows


def render(rows, meta):
    out = []
    if meta:
        out.append(meta.get("text", ""))
        out.append("")
    configs = sorted({(k[0], k[1]) for k in rows}, key=lambda c: (c[0], size_key(c[1])))
    hdr = (f"{'thr':>3} {'size':>4} {'program':<10} {'req/s mean':>10} {'(min-max)':>15} "
           f"{'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'non2xx':>6} {'sockerr':>7} "
           f"{'B/resp':>6} {'cpu us/req':>10} {'peak RSS MiB':>12}  flag")
    out.append(hdr)
    out.append("-" * len(hdr))
    flagged = False
    for threads, size in configs:
        for prog in PROGRAMS:
            r = rows.get((threads, size, prog))
            if r is None:
                continue
            flag = ""
            if r["non2xx"] or r["sockerr"]:
                flag = "ERRORS"
                flagged = True
            rng = f"({r['rps_min']:.0f}-{r['rps_max']:.0f})"
            rss = "-" if r["rss_mib"] is None else f"{r['rss_mib']:.1f}"
            if r["procs"] and r["procs"] > 1:
                rss += f" ({r['procs']}p)"
            out.append(
                f"{threads:>3} {size:>4} {prog:<10} {r['rps']:>10.0f} {rng:>15} "
                f"{r['p50']:>7.2f} {r['p99']:>7.2f} {r['p999']:>8.2f} {r['non2xx']:>6} "
                f"{r['sockerr']:>7} {r['bytes_per_req']:>6.0f} {r['cpu_us_per_req']:>10.1f} "
                f"{rss:>12}  {flag}")
        out.append("")

    out.append("gridrouter / reference (req/s: higher is better; p99: lower is better)")
    rhdr = (f"{'thr':>3} {'size':>4} {'req/s vs nginx':>20} {'req/s vs haproxy':>20} "
            f"{'p99 vs nginx':>18} {'p99 vs haproxy':>18}")
    out.append(rhdr)
    out.append(f"{'':>8} {'(target >= %.2f)' % TARGET_RPS_VS_NGINX:>20} "
               f"{'(target >= %.2f)' % TARGET_RPS_VS_HAPROXY:>20} {'(target < 1)':>18} "
               f"{'(target < 1)':>18}")
    out.append("-" * len(rhdr))
    met_all = True
    for threads, size in configs:
        g = rows.get((threads, size, "gridrouter"))
        n = rows.get((threads, size, "nginx"))
        h = rows.get((threads, size, "haproxy"))
        if not (g and n and h):
            continue

        def cell(value, ok):
            return f"{value:.2f} {'met' if ok else 'MISSED'}"

        checks = [
            (g["rps"] / n["rps"], g["rps"] / n["rps"] >= TARGET_RPS_VS_NGINX),
            (g["rps"] / h["rps"], g["rps"] / h["rps"] >= TARGET_RPS_VS_HAPROXY),
            (g["p99"] / n["p99"], g["p99"] < n["p99"]),
            (g["p99"] / h["p99"], g["p99"] < h["p99"]),
        ]
        met_all = met_all and all(ok for _, ok in checks)
        widths = (20, 20, 18, 18)
        cells = " ".join(f"{cell(v, ok):>{w}}" for (v, ok), w in zip(checks, widths))
        out.append(f"{threads:>3} {size:>4} {cells}")
    out.append("")
    out.append("req/s by round (round 1 first; the order of the programs rotates each round):")
    for threads, size in configs:
        parts = []
        for prog in PROGRAMS:
            r = rows.get((threads, size, prog))
            if r:
                parts.append(f"{prog} " + " ".join(f"{v:.0f}" for v in r["rps_each"]))
        out.append(f"  threads {threads} size {size}: " + "; ".join(parts))
    out.append("")
    out.append("all targets met" if met_all else "targets: not all met (see MISSED)")
    if flagged:
        out.append("ERRORS: some runs had non-2xx answers or socket errors; their numbers are suspect")
    return "\n".join(out) + "\n", flagged


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    runs, rss, meta = load(sys.argv[1])
    if not runs:
        sys.stderr.write("no runs recorded\n")
        return 2
    text, flagged = render(summarise(runs, rss), meta)
    sys.stdout.write(text)
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
