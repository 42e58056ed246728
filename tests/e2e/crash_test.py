#!/usr/bin/python3
"""Crash test: TokenService loses nothing it acknowledged when it dies.

Runs the real token_service binary ($WARDEN_BUILD_DIR) on a data directory
in a temp dir and, for each cycle: starts it, lets several writer threads
create and revoke service-user tokens as the bootstrap admin as fast as they
can, and has the process die in one of four ways, taken in turn:

  kill                  SIGKILL from outside at a random moment;
  store.before_log      a failpoint kills it after it built a group of
                        writes, before anything reached the write-ahead log;
  store.after_commit    a failpoint kills it once a group is durable, before
                        any writer of the group heard back;
  store.before_publish  a failpoint kills it after the writers got their
                        revisions, before the change went to the change
                        stream.

A failpoint fires at a random count of write groups (WARDEN_FAILPOINTS=
<point>=crash@<n>, see libs/failpoint/failpoint.h). The server is then
restarted on the same data directory and the test checks:

  * the committed revision never goes back: it is at least every revision
    acknowledged to a writer or seen in the change log before the crash, and
    after a store.after_commit crash it is above all of them (the group that
    committed unannounced survived);
  * the change log, read with Watch from revision 0 as the sidecar
    credential, holds revisions 1..N exactly once, in order, each record
    whole, and N is the committed revision (the same promises as
    libs/stream/history_validator.h, checked here independently);
  * every acknowledged write is in the log at the revision its response
    named, with the token it named (a create upserts the token, a revoke
    leaves it REVOKED), and the token's current state, read back with
    ListServiceUserTokens, is at least as far along as acknowledged;
  * no revision was acknowledged twice.

Writes that were in flight at the crash may or may not have committed; both
are fine. After the checks, tokens left active by such writes are revoked,
so the per-organization limit of active service-user tokens never bites.

A real authz_service sidecar follows the token service through every crash
and restart (the service keeps its port), and a second one starts after the
last cycle. Both must reach the store's revision with the same replica
digest as the store's snapshot, and the first must never have needed a new
snapshot: it was never ahead of what the store kept.

  tests/e2e/crash_test.py              8 cycles (what ctest runs)
  tests/e2e/crash_test.py --cycles 50  the long version

Prints one summary line per cycle and a total; exits non-zero on the first
broken promise, keeping the data directory and server logs for inspection.
"""

import argparse
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402
import grpc_reflect  # noqa: E402

BUILD_DIR = os.environ.get(
    "WARDEN_BUILD_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                 "build"))
TOKEN_SERVICE = os.path.join(BUILD_DIR, "services", "token_service",
                             "token_service")
AUTHZ_SERVICE = os.path.join(BUILD_DIR, "services", "authz_service",
                             "authz_service")
TOKENS = "warden.token.v1.TokenService/"
WATCH = "warden.changes.v1.ChangeStreamService/Watch"
SNAPSHOT = "warden.changes.v1.ChangeStreamService/Snapshot"
REPLICA_STATUS = "warden.authz.v1.AuthzService/GetReplicaStatus"
RPC_TIMEOUT = 10.0

# Names of the tokens fault tests create start with this; others (the
# bootstrap sidecar's) are left alone.
TEST_TOKEN_PREFIX = "fault test "

# How each cycle ends, in turn: SIGKILL from outside, or a failpoint.
ENDINGS = ("kill", "store.before_log", "store.after_commit",
           "store.before_publish")
# A failpoint fires at a random write group from 1 to this.
MAX_FAILPOINT_GROUP = 150
# How long a cycle may take to reach its failpoint.
FAILPOINT_WAIT = 60.0


class Broken(Exception):
    """A promise the server did not keep."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """Calls methods resolved once by reflection over one channel, and keeps
    the protobuf messages (converting the whole log to JSON dicts on every
    cycle would dominate the run time)."""

    def __init__(self, address, credential):
        self.channel = grpc.insecure_channel(address)
        self.metadata = ([("authorization", f"Bearer {credential}")]
                         if credential else [])
        self.reflector = grpc_reflect.Reflector(self.channel, self.metadata,
                                                RPC_TIMEOUT)
        self.stubs = {}

    def close(self):
        self.channel.close()

    def _stub(self, method):
        if method not in self.stubs:
            descriptor = self.reflector.method(method)
            request = grpc_reflect._message_class(descriptor.input_type)
            response = grpc_reflect._message_class(descriptor.output_type)
            path = f"/{method}"
            make = (self.channel.unary_stream if descriptor.server_streaming
                    else self.channel.unary_unary)
            self.stubs[method] = (request, make(
                path, request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response.FromString))
        return self.stubs[method]

    def call(self, method, timeout=RPC_TIMEOUT, **fields):
        request, stub = self._stub(method)
        return stub(request(**fields), metadata=self.metadata,
                    timeout=timeout)


class Server:
    """The real token_service binary on one data directory, always on the
    same port so that sidecars follow it across restarts."""

    def __init__(self, work_dir):
        self.data = os.path.join(work_dir, "data")
        self.log_path = os.path.join(work_dir, "token_service.log")
        self.process = None
        self.address = f"127.0.0.1:{free_port()}"

    def start(self, failpoints=""):
        """Starts the server, with WARDEN_FAILPOINTS=`failpoints` if set."""
        env = dict(os.environ)
        env.pop("WARDEN_FAILPOINTS", None)
        if failpoints:
            env["WARDEN_FAILPOINTS"] = failpoints
        self.log = open(self.log_path, "a")
        self.log_start = self.log.tell()
        self.process = subprocess.Popen(
            [TOKEN_SERVICE, f"--listen={self.address}",
             f"--data-dir={self.data}", "--log-level=warn",
             "--change-progress-interval=100ms",
             # The writers are one caller; the limiter is not under test.
             "--rate-limit-per-second=1000000", "--rate-limit-burst=1000000"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise Broken(f"token_service exited with "
                             f"{self.process.returncode}: {self.logs()}")
            try:
                if grpc_reflect.health(self.address) == "SERVING":
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.05)
        raise Broken(f"token_service not SERVING after 60 s: {self.logs()}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def wait_for_failpoint(self, point):
        """Waits for the armed failpoint to kill the server."""
        try:
            self.process.wait(timeout=FAILPOINT_WAIT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Broken(f"failpoint {point} did not fire within "
                         f"{FAILPOINT_WAIT:.0f} s")
        self.log.close()
        if self.process.returncode != -signal.SIGKILL:
            raise Broken(f"token_service exited with "
                         f"{self.process.returncode}, not by failpoint "
                         f"{point}: {self.logs()}")
        if f"failpoint {point}: crashing" not in self.logs_of_last_run():
            raise Broken(f"token_service was killed, but not by failpoint "
                         f"{point}: {self.logs()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            self.log.close()

    def credential(self, name):
        with open(os.path.join(self.data, f"bootstrap-{name}.token")) as f:
            return f.read().strip()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def logs_of_last_run(self):
        with open(self.log_path) as f:
            f.seek(self.log_start)
            return f.read()


class Sidecar:
    """The real authz_service binary following `server`."""

    def __init__(self, work_dir, name, server):
        self.name = name
        self.address = f"127.0.0.1:{free_port()}"
        self.log_path = os.path.join(work_dir, f"{name}.log")
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [AUTHZ_SERVICE, f"--listen={self.address}",
             f"--token-service={server.address}",
             f"--credential-file={server.data}/bootstrap-sidecar.token",
             "--log-level=info"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()


def records_digest(records):
    """The replica digest (GetReplicaStatusResponse.digest) of `records`:
    SHA-256 over the sorted deterministic encodings, each preceded by its
    length as 8 big-endian bytes."""
    encoded = sorted(r.SerializeToString(deterministic=True) for r in records)
    digest = hashlib.sha256()
    for data in encoded:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def snapshot_digest(server):
    """(revision, digest) of the server's snapshot."""
    client = Client(server.address, server.credential("sidecar"))
    records = []
    revision = None
    try:
        for chunk in client.call(SNAPSHOT, timeout=120):
            if revision is not None and chunk.revision != revision:
                raise Broken(f"snapshot chunks at revisions {revision} and "
                             f"{chunk.revision}")
            revision = chunk.revision
            records.extend(chunk.records)
            if chunk.last:
                return revision, records_digest(records)
    finally:
        client.close()
    raise Broken("the snapshot ended without its last chunk")


def check_sidecars(server, sidecars, head):
    """Every sidecar reaches the store's revision with the store's digest."""
    revision, digest = snapshot_digest(server)
    if revision != head:
        raise Broken(f"snapshot at revision {revision}, the log ends at "
                     f"{head}")
    for sidecar in sidecars:
        # The sidecar may be waiting out its reconnect backoff; each call
        # waits up to 30 s for min_revision.
        client = Client(sidecar.address, None)
        try:
            for attempt in range(3):
                try:
                    status = client.call(REPLICA_STATUS, timeout=40,
                                         include_digest=True,
                                         min_revision=revision)
                    break
                except grpc.RpcError as e:
                    if (e.code() != grpc.StatusCode.UNAVAILABLE or
                            attempt == 2):
                        raise Broken(f"{sidecar.name} did not reach revision "
                                     f"{revision}: {e.details()}")
        finally:
            client.close()
        if status.revision != revision or status.digest != digest:
            raise Broken(f"{sidecar.name} at revision {status.revision} with "
                         f"digest {status.digest}; the store at {revision} "
                         f"with {digest}")
    return revision, digest


class Acknowledged:
    """Every write a server acknowledged: (revision, action, token id)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writes = []

    def add(self, revision, action, token_id):
        with self.lock:
            self.writes.append((revision, action, token_id))


def writer(address, admin, name, acknowledged, stop):
    """Creates and revokes service-user tokens until the server goes away."""
    client = Client(address, admin)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            created = client.call(TOKENS + "CreateServiceUserToken",
                                  name=f"{TEST_TOKEN_PREFIX}{name} {n}")
            token_id = created.token.token.id
            acknowledged.add(created.revision, "create", token_id)
            revoked = client.call(TOKENS + "RevokeToken", token_id=token_id)
            acknowledged.add(revoked.revision, "revoke", token_id)
    except grpc.RpcError:
        pass  # the server was killed; what was acknowledged is recorded
    finally:
        client.close()


def read_log(client):
    """Reads the change log from revision 0 until a progress message says it
    is current. Checks the stream's promises and returns (the change
    records by revision, the committed revision)."""
    changes = {}
    position = 0
    committed = 0
    stream = client.call(WATCH, timeout=120, after_revision=0,
                         follower_name="crash-test")
    try:
        for message in stream:
            if message.committed_revision < committed:
                raise Broken(f"committed_revision went back from {committed} "
                             f"to {message.committed_revision}")
            committed = message.committed_revision
            if not message.changes:
                if committed > position:
                    raise Broken(f"progress at {committed} with changes only "
                                 f"up to {position}")
                return changes, committed
            for change in message.changes:
                if change.revision != position + 1:
                    raise Broken(f"change log: revision {change.revision} "
                                 f"follows {position}")
                if (not change.changes or not change.action or
                        not change.HasField("committed_at")):
                    raise Broken(f"change record {change.revision} is "
                                 f"incomplete")
                changes[change.revision] = change
                position = change.revision
            if committed < position:
                raise Broken(f"committed_revision {committed} below the last "
                             f"change sent, {position}")
    finally:
        stream.cancel()
    raise Broken(f"the change stream ended at {position}")


def token_states(client):
    """The tokens this test made: id -> state name."""
    states = {}
    page_token = ""
    while True:
        page = client.call(TOKENS + "ListServiceUserTokens", page_size=100,
                           page_token=page_token)
        for view in page.tokens:
            token = view.token
            if not token.name.startswith(TEST_TOKEN_PREFIX):
                continue  # e.g. the bootstrap sidecar's token
            states[token.id] = token.DESCRIPTOR.fields_by_name[
                "state"].enum_type.values_by_number[token.state].name
        page_token = page.next_page_token
        if not page_token:
            return states


def check(server, acknowledged, high_water, committed_unannounced=False):
    """Checks the restarted server against everything acknowledged before;
    returns the committed revision. With `committed_unannounced`, a group
    committed after every acknowledged write, so the log must go further."""
    sidecar = Client(server.address, server.credential("sidecar"))
    admin = Client(server.address, server.credential("admin"))
    try:
        changes, head = read_log(sidecar)
        if head < high_water:
            raise Broken(f"revision went back: {head} after {high_water} "
                         f"was acknowledged or seen")
        if committed_unannounced and head == high_water:
            raise Broken(f"the group committed before the crash is gone: "
                         f"the log ends at {head}, the last revision "
                         f"acknowledged or seen before")

        revisions = [r for r, _, _ in acknowledged.writes]
        if len(set(revisions)) != len(revisions):
            raise Broken("one revision was acknowledged to two writes")

        for revision, action, token_id in acknowledged.writes:
            change = changes.get(revision)
            if change is None:
                raise Broken(f"acknowledged {action} of {token_id} at "
                             f"revision {revision} is not in the log")
            tokens = [c.record.token for c in change.changes
                      if c.record.HasField("token")
                      and c.record.token.id == token_id]
            if not tokens:
                raise Broken(f"revision {revision} ({change.action}) does not "
                             f"change {token_id}, acknowledged as its "
                             f"{action}")
            if action == "revoke" and tokens[-1].state != 2:  # REVOKED
                raise Broken(f"revision {revision} does not revoke "
                             f"{token_id}")

        states = token_states(admin)
        revoked = {t for _, a, t in acknowledged.writes if a == "revoke"}
        for _, action, token_id in acknowledged.writes:
            if token_id not in states:
                raise Broken(f"acknowledged token {token_id} is gone")
            if (token_id in revoked and
                    states[token_id] != "TOKEN_STATE_REVOKED"):
                raise Broken(f"acknowledged revoke of {token_id} undone: "
                             f"{states[token_id]}")

        # Writes cut off by the kill may have left tokens active.
        for token_id, state in states.items():
            if state == "TOKEN_STATE_ACTIVE" and token_id not in revoked:
                reply = admin.call(TOKENS + "RevokeToken", token_id=token_id)
                acknowledged.add(reply.revision, "revoke", token_id)
                head = max(head, reply.revision)
        return head
    finally:
        sidecar.close()
        admin.close()


def run(cycles, writers, seed, keep):
    for binary in (TOKEN_SERVICE, AUTHZ_SERVICE):
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} not built")
    rng = random.Random(seed)
    work_dir = tempfile.mkdtemp(prefix="warden-crash-")
    server = Server(work_dir)
    sidecars = []
    acknowledged = Acknowledged()
    high_water = 0
    endings = {ending: 0 for ending in ENDINGS}
    started = time.time()
    try:
        server.start()
        high_water = check(server, acknowledged, high_water)
        sidecars.append(Sidecar(work_dir, "authz_service-through", server))
        for cycle in range(1, cycles + 1):
            ending = ENDINGS[(cycle - 1) % len(ENDINGS)]
            if ending != "kill":
                # Restart with the failpoint armed (the checks above wrote,
                # and must not trip it).
                fire_at = rng.randint(1, MAX_FAILPOINT_GROUP)
                ending_text = f"{ending}=crash@{fire_at}"
                server.stop()
                server.start(failpoints=ending_text)

            # Write hard until the server dies.
            admin = server.credential("admin")
            stop = threading.Event()
            threads = [threading.Thread(
                target=writer, args=(server.address, admin, f"{cycle}.{i}",
                                     acknowledged, stop))
                for i in range(writers)]
            before = len(acknowledged.writes)
            for thread in threads:
                thread.start()
            if ending == "kill":
                delay = rng.uniform(0.3, 2.0)
                ending_text = f"kill -9 after {delay:.2f} s"
                time.sleep(delay)
                server.kill()
            else:
                server.wait_for_failpoint(ending)
            stop.set()
            for thread in threads:
                thread.join(timeout=RPC_TIMEOUT + 5)
            acked = len(acknowledged.writes) - before
            high_water = max([high_water] +
                             [r for r, _, _ in acknowledged.writes])

            server.start()
            high_water = check(
                server, acknowledged, high_water,
                committed_unannounced=ending == "store.after_commit")
            endings[ending] += 1
            print(f"cycle {cycle} ({ending_text}): {acked} writes "
                  f"acknowledged before the crash; after restart revision "
                  f"{high_water}, log 1..{high_water} contiguous, all "
                  f"{len(acknowledged.writes)} acknowledged writes present",
                  flush=True)

        # One sidecar followed every crash; one starts from the result.
        sidecars.append(Sidecar(work_dir, "authz_service-after", server))
        revision, digest = check_sidecars(server, sidecars, high_water)
        if "resynchronizing" in sidecars[0].logs():
            raise Broken(f"{sidecars[0].name} needed a new snapshot: it was "
                         f"ahead of the restarted store or cut off")
        print(f"sidecars: {len(sidecars)} at revision {revision}, replica "
              f"digest {digest[:16]}... equal to the store's", flush=True)
    except Broken as e:
        keep = True
        print(f"FAILED: {e}\nlogs in {work_dir}", file=sys.stderr)
        return 1
    finally:
        for sidecar in sidecars:
            sidecar.stop()
        server.stop()
        if keep:
            print(f"kept {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"crash test passed: {cycles} cycles ("
          + ", ".join(f"{n} {e}" for e, n in endings.items())
          + f"), {writers} writers, {len(acknowledged.writes)} acknowledged "
          f"writes, final revision {high_water}, {len(sidecars)} sidecars "
          f"converged, {time.time() - started:.0f} s (seed {seed})")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seed", type=int,
                        default=int.from_bytes(os.urandom(4), "big"))
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory and log")
    args = parser.parse_args()
    return run(args.cycles, args.writers, args.seed, args.keep)


if __name__ == "__main__":
    sys.exit(main())
