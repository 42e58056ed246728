#!/usr/bin/python3
"""Writes tools/bench/results/latest.md from run_all.sh's raw outputs.

usage: report.py RAW_DIR OUT_MD
"""
import json
import os
import statistics
import sys

FULL_GRANTS = 10_000_000  # the "large" scale the targets speak of


def kv_lines(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" in line and " " not in line.split("=", 1)[0]:
                k, v = line.split("=", 1)
            else:
                k, _, v = line.partition(" ")
            out[k] = v
    return out


def runs(path):
    """loadgen lines as dicts."""
    out = []
    with open(path) as f:
        for line in f:
            fields = dict(p.split("=", 1) for p in line.split())
            out.append(fields)
    return out


def median(values):
    return statistics.median(values) if values else float("nan")


def verdict(ok):
    return "PASS" if ok else "MISS"


def read_optional(raw, name):
    path = os.path.join(raw, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def revoke_propagation(text):
    """{sidecars: {"each_sidecar"|"last_sidecar": {field: float}}}."""
    out, sidecars = {}, None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "sidecars":
            sidecars = int(words[1])
            out[sidecars] = {}
        elif sidecars is not None and words and words[0].endswith("_sidecar"):
            out[sidecars][words[0]] = {
                words[i]: float(words[i + 1])
                for i in range(1, len(words) - 1, 2)}
    return out


def growth_table(data):
    """Markdown rows: axis, value, then Check, CheckBySubjectId and
    ListAccessible medians (CPU time)."""
    cells = {}
    order = []
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        kind, point = b["run_name"].split("/", 1)
        axis, value = point.split(":")
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        if (axis, value) not in cells:
            cells[(axis, value)] = {}
            order.append((axis, value))
        cells[(axis, value)][kind] = b["cpu_time"] * scale
    rows = ["| axis | value | Check ns | CheckBySubjectId ns | "
            "ListAccessible first 100 us |",
            "|---|---:|---:|---:|---:|"]
    for key in order:
        c = cells[key]
        rows.append("| %s | %s | %.0f | %.0f | %.1f |" % (
            key[0], key[1], c.get("Check", float("nan")),
            c.get("CheckBySubjectId", float("nan")),
            c.get("ListAccessible", float("nan")) / 1e3))
    return rows


def main():
    raw, out = sys.argv[1], sys.argv[2]
    machine = kv_lines(os.path.join(raw, "machine.txt"))
    with open(os.path.join(raw, "group.txt")) as f:
        group = f.read().strip()
    with open(os.path.join(raw, "index.json")) as f:
        index = json.load(f)
    with open(os.path.join(raw, "index.err")) as f:
        index_note = f.read().strip().splitlines()
    grpc = runs(os.path.join(raw, "grpc.txt"))
    cold = kv_lines(os.path.join(raw, "cold.txt"))

    # Index medians, in ns, by benchmark name.
    bench = {}
    for b in index["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        bench[b["run_name"]] = (b["real_time"] * scale, b["cpu_time"] * scale)

    def sel(rpc, mode):
        return [r for r in grpc if r["rpc"] == rpc and r["mode"] == mode]

    noop = median([float(r["throughput"]) for r in sel("noop", "closed")])
    check = median([float(r["throughput"]) for r in sel("check", "closed")])
    check_p99_closed = median(
        [float(r["p99_us"]) for r in sel("check", "closed")])
    noop_p99 = median([float(r["p99_us"]) for r in sel("noop", "closed")])
    open_runs = sel("check", "open")
    open_rate = float(open_runs[0]["rate"]) if open_runs else 0
    open_p50 = median([float(r["p50_us"]) for r in open_runs])
    open_p99 = median([float(r["p99_us"]) for r in open_runs])
    open_p999 = median([float(r["p999_us"]) for r in open_runs])
    batch = median(
        [float(r["checks_per_second"]) for r in sel("batch", "closed")])
    batch_p99 = median([float(r["p99_us"]) for r in sel("batch", "closed")])
    errors = sorted({r["errors"] for r in grpc})

    check_paths = [n for n in bench if n.startswith("Check/")]
    worst_check = max(bench[n][1] for n in check_paths)
    auth = bench["Authenticate"][1]
    lists = [n for n in bench if n.startswith("ListAccessible/")]
    worst_list = max(bench[n][1] for n in lists)

    load_s = float(cold["load_seconds"])
    rss = int(cold["sidecar_rss_bytes"])
    grants = int(cold["grants"])
    records = int(cold["records"])
    per_grant = float(cold["bytes_per_grant"])
    extra = max(0, FULL_GRANTS - grants)
    rss_full = rss + extra * per_grant
    load_full = load_s * (records + extra) / records

    revoke = revoke_propagation(read_optional(raw, "revoke.txt") or "")

    gib = 1024 ** 3
    rows = [
        ("Check over gRPC vs no-op ceiling (closed loop, c=%s)"
         % sel("check", "closed")[0]["concurrency"],
         ">= 0.80x",
         "%.0f / %.0f calls/s = %.2fx" % (check, noop, check / noop),
         verdict(check >= 0.8 * noop)),
        ("Check p99 at half that throughput (open loop, %.0f/s)" % open_rate,
         "< 1 ms", "%.0f us (p50 %.0f us, p99.9 %.0f us)"
         % (open_p99, open_p50, open_p999), verdict(open_p99 < 1000)),
        ("BatchCheck(100), checks/s (c=8)", ">= 1,000,000",
         "{:,.0f} (p99 per call {:.0f} us)".format(batch, batch_p99),
         verdict(batch >= 1e6)),
        ("In-process Check, slowest path, one core", ">= 5M/s (<= 200 ns)",
         "%.0f ns = %.2fM/s" % (worst_check, 1e3 / worst_check),
         verdict(worst_check <= 200)),
        ("In-process Authenticate, one core", ">= 1M/s (<= 1 us)",
         "%.0f ns = %.2fM/s" % (auth, 1e3 / auth), verdict(auth <= 1000)),
        ("In-process ListAccessible first 100, slowest", "< 50 us",
         "%.1f us" % (worst_list / 1e3), verdict(worst_list < 50e3)),
        ("Cold start, measured (%s grants)" % f"{grants:,}", "< 10 s",
         "%.1f s" % load_s, verdict(load_s < 10)),
        ("Sidecar RSS, measured (%s grants)" % f"{grants:,}", "< 2 GB",
         "%.2f GiB" % (rss / gib), verdict(rss < 2 * gib)),
        ("Cold start, extrapolated to 10M grants", "< 10 s",
         "~%.0f s" % load_full, verdict(load_full < 10)),
        ("Sidecar RSS, extrapolated to 10M grants", "< 2 GB",
         "~%.1f GiB" % (rss_full / gib), verdict(rss_full < 2 * gib)),
    ]
    for sidecars, limit_ms in ((1, 5), (16, 20)):
        last = revoke.get(sidecars, {}).get("last_sidecar")
        if last is None:
            continue
        rows.append((
            "Revoke acknowledged -> %d sidecar%s deny (p99 until the last)"
            % (sidecars, "" if sidecars == 1 else "s"),
            "p99 < %d ms" % limit_ms,
            "%.2f ms (median %.2f ms, max %.2f ms)" % (
                last["p99_us"] / 1e3, last["median_us"] / 1e3,
                last["max_us"] / 1e3),
            verdict(last["p99_us"] < limit_ms * 1e3)))

    L = []
    L.append("# Benchmark results")
    L.append("")
    L.append("Written by `tools/bench/run_all.sh`; do not edit by hand.")
    L.append("")
    L.append("- date: %s, commit %s" % (machine["date"], machine["commit"]))
    L.append("- machine: %s cores (`nproc`), %s, %s GB RAM"
             % (machine["nproc"], machine["cpu"], machine["memory_gb"]))
    L.append("- load average before / after: %s / %s (the host is shared; "
             "gRPC numbers include other tenants' load)"
             % (machine["load_before"], machine.get("load_after", "?")))
    L.append("- in-process figures are medians of 5 repetitions, CPU time "
             "per operation; gRPC figures are medians of %d runs of %s s"
             % (len(sel("noop", "closed")),
                sel("noop", "closed")[0]["seconds"].split(".")[0]))
    L.append("- in-process and cold-start dataset: %s (large = 100k users, "
             "1M tokens, 1M items) with **%s item grants** (not 10M; see the "
             "extrapolation); replica behind the gRPC runs: %s"
             % (machine["large_dataset"],
                f"{int(machine['large_grants']):,}", machine["rpc_dataset"]))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| measure | target | result | |")
    L.append("|---|---|---|---|")
    for r in rows:
        L.append("| %s | %s | %s | %s |" % r)
    L.append("")
    L.append("## In-process index (one thread)")
    L.append("")
    L.append("| benchmark | CPU ns/op | wall ns/op | ops/s (CPU) |")
    L.append("|---|---:|---:|---:|")
    for name, (real, cpu) in bench.items():
        L.append("| %s | %.0f | %.0f | %s |"
                 % (name, cpu, real, f"{1e9 / cpu:,.0f}"))
    L.append("")
    L.append("Check/* decides for a subject already resolved; "
             "CheckBySubjectId/* also resolves the subject by id on every "
             "call, as one Check RPC does.")
    L.append("")
    for line in index_note:
        if line.startswith("dataset"):
            L.append("Dataset: " + line[len("dataset "):])
    L.append("")
    L.append("## gRPC (loopback, client and server on the same 2 cores)")
    L.append("")
    L.append("| run | calls/s | checks/s | p50 us | p90 us | p99 us | "
             "p99.9 us |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in grpc:
        label = "%s %s %s" % (r["rpc"], r["mode"],
                              "c=" + r["concurrency"] if r["mode"] == "closed"
                              else "rate=" + r["rate"])
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, r["throughput"], r["checks_per_second"], r["p50_us"],
            r["p90_us"], r["p99_us"], r["p999_us"]))
    L.append("")
    L.append("Errors by status: %s. No-op closed-loop p99 %.0f us; Check "
             "closed-loop p99 %.0f us." % (", ".join(errors), noop_p99,
                                           check_p99_closed))
    L.append("")
    L.append("## Cold start from a snapshot")
    L.append("")
    L.append("Parse every record of the snapshot (as received) and "
             "`LoadSnapshot`, as the follower does; RSS is an idle process "
             "plus what the load adds.")
    L.append("")
    for k in ("records", "users", "tokens", "items", "grants",
              "load_seconds", "index_bytes", "sidecar_rss_bytes",
              "process_peak_bytes", "bytes_per_token", "bytes_per_subject",
              "bytes_per_item", "bytes_per_grant"):
        L.append("- %s: %s" % (k, cold.get(k, "?")))
    L.append("")
    L.append("bytes_per_subject counts a user or service user with its "
             "group and site memberships.")
    L.append("")
    def section(name, title, intro, body):
        """Appends a section for raw file `name` when the run wrote it."""
        text = read_optional(raw, name)
        if not text:
            return
        L.extend(["## " + title, "", intro, ""] + body(text) + [""])

    section("revoke.txt", "Revoke propagation",
            "`revoke_propagation_bench --poll=rpc`: TokenService and the "
            "sidecars in one process on loopback, a synced store; after "
            "each acknowledged revoke one thread asks every sidecar that "
            "still accepts the token (Authenticate, no min_revision) until "
            "all deny.",
            lambda text: ["```"] + text.rstrip().splitlines() + ["```"])
    section("growth.json", "Growth: Check and ListAccessible by data shape",
            "`growth_bench`, medians of 3, CPU time per call, one axis at a "
            "time on the small dataset otherwise (see the top of "
            "tools/bench/growth_bench.cc for each axis).",
            lambda text: growth_table(json.loads(text)))
    section("fanout.md", "Watch fan-out: TokenService cost by followers",
            "`watch_fanout_bench`: the real token_service binary, each "
            "follower a Watch stream on its own connection; delivery is "
            "from a write being sent to a follower receiving its change.",
            lambda text: text.strip().splitlines())
    section("h2load.md", "Load generator cross-check (h2load)",
            "`h2load_crosscheck.sh`: loadgen and h2load alternating on the "
            "no-op call with the same calls in flight.",
            lambda text: [l for l in text.splitlines() if l.startswith("|")])
    L.append("## Group commit")
    L.append("")
    L.append("```")
    L.append(group)
    L.append("```")
    L.append("")
    with open(out, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
