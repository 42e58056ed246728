#!/usr/bin/python3
"""Soak test of the real binaries: Check under steady load with writes.

Starts the real token_service and authz_service binaries on free loopback
ports with a fresh data dir, loads a dataset through TokenService's RPCs
(users, groups, a site tree, items and grants of one organization), finds
the most Checks per second the sidecar answers over gRPC while a writer
keeps changing TokenService (loadgen, closed loop, briefly; every writer
cycle creates and revokes a user token, creates a grant and deletes an
older one), warms up at a fraction of that (default 70%) for
--warmup-seconds, then runs Check open loop at that rate for --minutes
with the writer still going. Every --sample-seconds it records Check p50/p99, errors by status,
the writes done and failed, and both processes' resident memory.

Writes tools/bench/results/soak.md and exits non-zero if any Check or
write failed, a process died, a sample answered less than 95% of the
soak rate, either process's RSS grew more than --rss-growth-mib above its
first sample, or the second half's median p99 is more than --p99-drift
times the first half's.

  WARDEN_BUILD_DIR=build-bench tools/bench/soak.py [--minutes 10]
"""

import argparse
import collections
import datetime
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def load_stubs(tmp):
    """Python messages and stubs generated from protos/ at run time."""
    out = os.path.join(tmp, "py")
    os.makedirs(out)
    protos = ["warden/model/v1/model.proto",
              "warden/token/v1/token_service.proto",
              "warden/directory/v1/directory_service.proto",
              "warden/authz/v1/authz_service.proto"]
    subprocess.run(
        ["protoc", "-I", os.path.join(ROOT, "protos"), f"--python_out={out}",
         f"--grpc_out={out}",
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin"] +
        [os.path.join(ROOT, "protos", p) for p in protos], check=True)
    sys.path.insert(0, out)
    import warden.authz.v1.authz_service_pb2 as authz  # noqa: E402
    import warden.authz.v1.authz_service_pb2_grpc as authz_grpc  # noqa: E402
    import warden.directory.v1.directory_service_pb2 as directory  # noqa
    import warden.directory.v1.directory_service_pb2_grpc as directory_grpc
    import warden.model.v1.model_pb2 as model  # noqa: E402
    import warden.token.v1.token_service_pb2 as token  # noqa: E402
    import warden.token.v1.token_service_pb2_grpc as token_grpc  # noqa
    return argparse.Namespace(
        authz=authz, authz_grpc=authz_grpc, directory=directory,
        directory_grpc=directory_grpc, model=model, token=token,
        token_grpc=token_grpc)


class Service:
    """A real binary in a child process, its output in a log file."""

    def __init__(self, name, argv, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(argv, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def tail(self):
        with open(self.log_path) as f:
            return f.read()[-3000:]


def read_credential(path):
    """The token in `path`; OSError until the file has one."""
    with open(path) as f:
        token = f.read().strip()
    if not token:
        raise OSError(f"{path} is empty")
    return token


def wait_for(what, call, service, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not service.alive():
            sys.exit(f"soak: {service.name} exited:\n{service.tail()}")
        try:
            return call()
        except (grpc.RpcError, OSError):
            time.sleep(0.1)
    sys.exit(f"soak: {what} not ready after {seconds} s:\n{service.tail()}")


class Loader:
    """Builds one organization's data through TokenService's RPCs."""

    def __init__(self, pb, channel, admin):
        self.pb = pb
        self.directory = pb.directory_grpc.DirectoryServiceStub(channel)
        self.metadata = [("authorization", f"Bearer {admin}")]
        self.revision = 0
        self.lock = threading.Lock()

    def call(self, method, request):
        response = getattr(self.directory, method)(
            request, metadata=self.metadata, timeout=30)
        if hasattr(response, "revision"):
            with self.lock:
                self.revision = max(self.revision, response.revision)
        return response

    def run(self, users, items, grants, pool):
        d = self.pb.directory
        pset = self.call("CreatePermissionSet", d.CreatePermissionSetRequest(
            name="Field staff",
            permissions=["inspections.view", "inspections.edit",
                         "assets.view", "templates.view"]))
        set_id = pset.permission_set.id
        user_ids = list(pool.map(
            lambda i: self.call("CreateUser", d.CreateUserRequest(
                email=f"soak{i}@example.com", display_name=f"Soak {i}",
                permission_set_id=set_id)).user.id, range(users)))
        org = self.call("GetUser", d.GetUserRequest(
            user_id=user_ids[0])).user.organization_id
        group_ids = list(pool.map(
            lambda i: self.call("CreateGroup", d.CreateGroupRequest(
                name=f"Team {i}")).group.id, range(max(2, users // 25))))
        rng = random.Random(1)
        list(pool.map(lambda u: self.call("AddGroupMember",
                                          d.AddGroupMemberRequest(
                                              group_id=rng.choice(group_ids),
                                              user_id=u)), user_ids))
        # Regions, each with areas, each with sites.
        sites = []
        for r in range(4):
            region = self.call("CreateSite", d.CreateSiteRequest(
                name=f"Region {r}")).site.id
            sites.append(region)
            for a in range(3):
                area = self.call("CreateSite", d.CreateSiteRequest(
                    name=f"Area {r}.{a}", parent_site_id=region)).site.id
                sites.append(area)
                for s in range(3):
                    sites.append(self.call("CreateSite", d.CreateSiteRequest(
                        name=f"Site {r}.{a}.{s}",
                        parent_site_id=area)).site.id)
        list(pool.map(lambda u: self.call("AddSiteMember",
                                          d.AddSiteMemberRequest(
                                              site_id=rng.choice(sites),
                                              user_id=u)), user_ids))
        item_ids = list(pool.map(
            lambda i: self.call("CreateItem", d.CreateItemRequest(
                type="inspection", name=f"Inspection {i}",
                site_id=rng.choice(sites))).item.id, range(items)))

        # Distinct (item, grantee) pairs: a second grant of a pair is
        # refused with ALREADY_EXISTS.
        pairs = set()
        while len(pairs) < grants:
            u = rng.random()
            kind = "user_id" if u < 0.5 else "group_id" if u < 0.8 else "site_id"
            who = rng.choice({"user_id": user_ids, "group_id": group_ids,
                              "site_id": sites}[kind])
            pairs.add((rng.choice(item_ids), kind, who))

        def grant(pair):
            item_id, kind, who = pair
            grantee = self.pb.model.Grantee(grantee_organization_id=org,
                                            **{kind: who})
            return self.call("CreateGrant", d.CreateGrantRequest(
                item_id=item_id, grantee=grantee,
                level=self.pb.model.ACCESS_LEVEL_VIEW)).grant.id, pair
        grant_ids = list(pool.map(grant, sorted(pairs)))
        return org, user_ids, item_ids, grant_ids


class Writer(threading.Thread):
    """Changes TokenService at a steady pace until stopped."""

    def __init__(self, pb, channel, admin, org, user_ids, item_ids,
                 grant_ids, cycles_per_second):
        super().__init__(daemon=True)
        self.pb = pb
        self.tokens = pb.token_grpc.TokenServiceStub(channel)
        self.directory = pb.directory_grpc.DirectoryServiceStub(channel)
        self.metadata = [("authorization", f"Bearer {admin}")]
        self.org = org
        self.user_ids = user_ids
        self.item_ids = item_ids
        # (grant id, (item, grantee kind, grantee)), oldest first.
        self.grants = collections.deque(grant_ids)
        self.live = set(pair for _, pair in grant_ids)
        self.interval = 1.0 / cycles_per_second
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.ok = collections.Counter()
        self.errors = collections.Counter()

    def _call(self, stub, method, request):
        try:
            response = getattr(stub, method)(request, metadata=self.metadata,
                                             timeout=10)
        except grpc.RpcError as error:
            with self.lock:
                self.errors[f"{method}:{error.code().name}"] += 1
            return None
        with self.lock:
            self.ok[method] += 1
        return response

    def counts(self):
        with self.lock:
            return sum(self.ok.values()), sum(self.errors.values())

    def run(self):
        t, d, m = self.pb.token, self.pb.directory, self.pb.model
        rng = random.Random(2)
        next_cycle = time.monotonic()
        n = 0
        while not self.stopping.is_set():
            n += 1
            created = self._call(self.tokens, "CreateUserToken",
                                 t.CreateUserTokenRequest(name=f"soak {n}"))
            if created is not None:
                self._call(self.tokens, "RevokeToken", t.RevokeTokenRequest(
                    token_id=created.token.token.id))
            pair = (rng.choice(self.item_ids), "user_id",
                    rng.choice(self.user_ids))
            while pair in self.live:
                pair = (rng.choice(self.item_ids), "user_id",
                        rng.choice(self.user_ids))
            made = self._call(self.directory, "CreateGrant",
                              d.CreateGrantRequest(
                                  item_id=pair[0],
                                  grantee=m.Grantee(
                                      user_id=pair[2],
                                      grantee_organization_id=self.org),
                                  level=m.ACCESS_LEVEL_VIEW))
            if made is not None:
                self.grants.append((made.grant.id, pair))
                self.live.add(pair)
                old_id, old_pair = self.grants.popleft()
                if self._call(self.directory, "DeleteGrant",
                              d.DeleteGrantRequest(grant_id=old_id)):
                    self.live.discard(old_pair)
            next_cycle += self.interval
            delay = next_cycle - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)


def loadgen(bench, target, probes, extra):
    line = subprocess.run(
        [os.path.join(bench, "loadgen"), f"--target={target}", "--rpc=check",
         f"--probes={probes}"] + extra,
        capture_output=True, text=True).stdout.strip()
    fields = dict(kv.split("=", 1) for kv in line.split())
    if "throughput" not in fields:
        sys.exit(f"soak: loadgen printed nothing useful: {line!r}")
    return fields


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--build-dir", default=os.environ.get(
        "WARDEN_BUILD_DIR", os.path.join(ROOT, "build")))
    parser.add_argument("--out", default=os.path.join(
        ROOT, "tools", "bench", "results", "soak.md"))
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--grants", type=int, default=15000)
    parser.add_argument("--load-fraction", type=float, default=0.7)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--calibrate-seconds", type=float, default=10)
    parser.add_argument("--warmup-seconds", type=float, default=60)
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument("--write-cycles-per-second", type=float, default=5,
                        help="each cycle: a token created and revoked, a "
                        "grant created and one deleted")
    parser.add_argument("--rss-growth-mib", type=float, default=32)
    parser.add_argument("--p99-drift", type=float, default=2.0,
                        help="largest ratio of the second half's median p99 "
                        "to the first half's")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    bench = os.path.join(build, "tools", "bench")
    token_bin = os.path.join(build, "services", "token_service",
                             "token_service")
    authz_bin = os.path.join(build, "services", "authz_service",
                             "authz_service")
    for path in (token_bin, authz_bin, os.path.join(bench, "loadgen")):
        if not os.access(path, os.X_OK):
            sys.exit(f"soak: missing {path}: build it first")

    tmp = tempfile.mkdtemp(prefix="warden-soak-")
    pb = load_stubs(tmp)
    data = os.path.join(tmp, "data")
    ts_address = f"127.0.0.1:{free_port()}"
    sc_address = f"127.0.0.1:{free_port()}"
    token_service = Service("token_service", [
        token_bin, f"--listen={ts_address}", f"--data-dir={data}",
        "--rate-limit-per-second=1000000", "--rate-limit-burst=1000000",
        "--log-level=warn"], tmp)
    services = [token_service]
    failures = []
    try:
        admin = wait_for("bootstrap", lambda: read_credential(
            os.path.join(data, "bootstrap-admin.token")), token_service)
        ts_channel = grpc.insecure_channel(ts_address)
        directory = pb.directory_grpc.DirectoryServiceStub(ts_channel)
        wait_for("TokenService", lambda: directory.ListPermissionSets(
            pb.directory.ListPermissionSetsRequest(page_size=1),
            metadata=[("authorization", f"Bearer {admin}")], timeout=2),
            token_service)
        sidecar = Service("authz_service", [
            authz_bin, f"--listen={sc_address}",
            f"--token-service={ts_address}",
            f"--credential-file={os.path.join(data, 'bootstrap-sidecar.token')}",
            "--log-level=warn"], tmp)
        services.append(sidecar)

        # The dataset, through TokenService.
        started = time.monotonic()
        loader = Loader(pb, ts_channel, admin)
        with futures.ThreadPoolExecutor(8) as pool:
            org, user_ids, item_ids, grant_ids = loader.run(
                args.users, args.items, args.grants, pool)
        load_seconds = time.monotonic() - started
        writes_loaded = loader.revision

        # The sidecar has it all.
        sc_channel = grpc.insecure_channel(sc_address)
        authz = pb.authz_grpc.AuthzServiceStub(sc_channel)
        wait_for("AuthzService", lambda: authz.Check(pb.authz.CheckRequest(
            subject=pb.authz.SubjectRef(subject_id=user_ids[0]),
            permission="inspections.view", item_id=item_ids[0],
            min_revision=loader.revision), timeout=5), sidecar)

        rng = random.Random(3)
        probes = os.path.join(tmp, "probes.txt")
        with open(probes, "w") as f:
            for _ in range(2000):
                f.write(f"{rng.choice(user_ids)} inspections.view "
                        f"{rng.choice(item_ids)}\n")

        # The most Checks/s with the writes going on, as during the soak:
        # the writer, TokenService and the sidecar's applies share the CPU.
        writer = Writer(pb, ts_channel, admin, org, user_ids, item_ids,
                        grant_ids, args.write_cycles_per_second)
        writer.start()
        calibration = loadgen(bench, sc_address, probes, [
            f"--concurrency={args.concurrency}",
            f"--seconds={args.calibrate_seconds}"])
        if calibration["errors"] != "none":
            failures.append(f"calibration errors {calibration['errors']}")
        rate = int(float(calibration["throughput"]) * args.load_fraction)
        # Warm up at the soak rate before the first sample, so the first
        # sample's memory is that of a process already serving this load
        # (connection buffers, allocator arenas) rather than an idle one.
        warmup = loadgen(bench, sc_address, probes, [
            f"--rate={rate}", f"--seconds={args.warmup_seconds}"])
        if warmup["errors"] != "none":
            failures.append(f"warm-up errors {warmup['errors']}")
        samples = []
        chunks = max(1, round(args.minutes * 60 / args.sample_seconds))
        soak_start = time.monotonic()
        last_ok, last_failed = 0, 0
        for i in range(chunks):
            result = loadgen(bench, sc_address, probes, [
                f"--rate={rate}", f"--seconds={args.sample_seconds}"])
            ok, failed = writer.counts()
            alive = all(s.alive() for s in services)
            samples.append({
                "t": time.monotonic() - soak_start,
                "checks": float(result["throughput"]),
                "p50": float(result["p50_us"]),
                "p99": float(result["p99_us"]),
                "p999": float(result["p999_us"]),
                "errors": result["errors"],
                "writes": ok - last_ok,
                "write_errors": failed - last_failed,
                "sidecar_rss": rss_bytes(sidecar.process.pid) if alive else 0,
                "ts_rss": (rss_bytes(token_service.process.pid)
                           if alive else 0),
            })
            last_ok, last_failed = ok, failed
            print(f"soak: sample {i + 1}/{chunks}: {samples[-1]}",
                  file=sys.stderr)
            if not alive:
                failures.append("a process died: " + "; ".join(
                    f"{s.name}: {s.tail()}" for s in services
                    if not s.alive()))
                break
        writer.stopping.set()
        writer.join(timeout=30)
    finally:
        for s in reversed(services):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    # Verdict.
    for s in samples:
        if s["errors"] != "none":
            failures.append(f"Check errors at {s['t']:.0f} s: {s['errors']}")
    if writer.errors:
        failures.append(f"write errors: {dict(writer.errors)}")
    bound = args.rss_growth_mib * 1024 * 1024
    growth = {}
    for key, name in (("sidecar_rss", "sidecar"), ("ts_rss", "TokenService")):
        values = [s[key] for s in samples if s[key] > 0]
        growth[name] = max(values) - values[0] if values else 0
        if growth[name] > bound:
            failures.append(f"{name} RSS grew {growth[name] / 2**20:.0f} MiB "
                            f"(bound {args.rss_growth_mib:.0f} MiB)")

    # Stable p99: the later half of the run is no slower than twice the
    # earlier half (medians of the samples' p99, which absorb a single
    # spike from another tenant of the machine).
    half = len(samples) // 2
    p99_drift = None
    if half >= 1:
        early = statistics.median(s["p99"] for s in samples[:half])
        late = statistics.median(s["p99"] for s in samples[half:])
        p99_drift = late / early if early > 0 else None
        if p99_drift is not None and p99_drift > args.p99_drift:
            failures.append(f"p99 drifted {p99_drift:.2f}x from the first "
                            f"half to the second (bound {args.p99_drift}x)")
    # The rate held: every sample answered at least 95% of the soak rate.
    for s in samples:
        if s["checks"] < 0.95 * rate:
            failures.append(f"{s['checks']:.0f} Checks/s at {s['t']:.0f} s, "
                            f"below 95% of {rate}")

    mib = 2 ** 20
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                             "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = [
        "# Soak: Check under steady load with writes",
        "",
        "Written by `tools/bench/soak.py`; do not edit by hand.",
        "",
        f"- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%M:%SZ}, commit "
        f"{commit}, {os.cpu_count()} cores, load average at the end "
        f"{' '.join(open('/proc/loadavg').read().split()[:3])}. The host is "
        "shared with other engineers' builds and benchmarks during the run, "
        "so latency spikes include their load.",
        f"- real `token_service` and `authz_service` binaries on loopback, "
        f"fresh synced data dir; dataset loaded through TokenService's RPCs "
        f"in {load_seconds:.0f} s ({writes_loaded} revisions: {args.users} "
        f"users, {args.items} items, {args.grants} grants, groups and a "
        f"52-site tree of one organization)",
        f"- most Checks/s with the writes going on (loadgen closed loop, "
        f"c={args.concurrency}, {args.calibrate_seconds:.0f} s): "
        f"{float(calibration['throughput']):.0f}"
        f" (p99 {calibration['p99_us']} us); soak rate "
        f"{args.load_fraction:.0%} of it: **{rate} Checks/s** open loop, "
        f"{args.warmup_seconds:.0f} s of warm-up, then {args.minutes:g} min "
        f"sampled every {args.sample_seconds:.0f} s",
        f"- writes at TokenService meanwhile: "
        f"{args.write_cycles_per_second:g} cycles/s of CreateUserToken, "
        f"RevokeToken, CreateGrant, DeleteGrant ({sum(writer.ok.values())} "
        f"writes done, {sum(writer.errors.values())} failed)",
        f"- RSS bound: each process at most {args.rss_growth_mib:.0f} MiB "
        "above its first sample",
        "",
        "| t (s) | Checks/s | p50 us | p99 us | p99.9 us | Check errors | "
        "writes | write errors | sidecar RSS MiB | TokenService RSS MiB |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in samples:
        lines.append(
            f"| {s['t']:.0f} | {s['checks']:.0f} | {s['p50']:.0f} | "
            f"{s['p99']:.0f} | {s['p999']:.0f} | {s['errors']} | "
            f"{s['writes']} | {s['write_errors']} | "
            f"{s['sidecar_rss'] / mib:.1f} | {s['ts_rss'] / mib:.1f} |")
    if samples:
        lines += [
            "",
            f"Median over samples: p50 "
            f"{statistics.median(s['p50'] for s in samples):.0f} us, p99 "
            f"{statistics.median(s['p99'] for s in samples):.0f} us; worst "
            f"p99 {max(s['p99'] for s in samples):.0f} us. RSS growth from "
            f"the first sample: sidecar {growth['sidecar'] / mib:.1f} MiB, "
            f"TokenService {growth['TokenService'] / mib:.1f} MiB. "
            + (f"Second half's median p99 over the first half's: "
               f"{p99_drift:.2f}x (bound {args.p99_drift}x)."
               if p99_drift is not None else ""),
        ]
    lines += ["", "Result: " + ("PASS" if not failures else
                                "FAIL: " + "; ".join(failures)), ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"soak: wrote {args.out}: "
          f"{'PASS' if not failures else 'FAIL'}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
