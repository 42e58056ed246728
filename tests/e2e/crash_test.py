#!/usr/bin/python3
"""Crash test: TokenService loses nothing it acknowledged when killed -9.

Runs the real token_service binary ($WARDEN_BUILD_DIR) on a data directory
in a temp dir and, for each cycle: starts it, lets several writer threads
create and revoke service-user tokens as the bootstrap admin as fast as they
can, kills the process with SIGKILL at a random moment, restarts it on the
same data directory, and checks:

  * the committed revision never goes back: it is at least every revision
    acknowledged to a writer or seen in the change log before the kill;
  * the change log, read with Watch from revision 0 as the sidecar
    credential, holds revisions 1..N exactly once, in order, each record
    whole, and N is the committed revision (the same promises as
    libs/stream/history_validator.h, checked here independently);
  * every acknowledged write is in the log at the revision its response
    named, with the token it named (a create upserts the token, a revoke
    leaves it REVOKED), and the token's current state, read back with
    ListServiceUserTokens, is at least as far along as acknowledged;
  * no revision was acknowledged twice.

Writes that were in flight at the kill may or may not have committed; both
are fine. After the checks, tokens left active by such writes are revoked,
so the per-organization limit of active service-user tokens never bites.

  tests/e2e/crash_test.py              5 cycles (what ctest runs)
  tests/e2e/crash_test.py --cycles 50  the long version

Prints one summary line per cycle and a total; exits non-zero on the first
broken promise, keeping the data directory and server log for inspection.
"""

import argparse
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
TOKENS = "warden.token.v1.TokenService/"
WATCH = "warden.changes.v1.ChangeStreamService/Watch"
RPC_TIMEOUT = 10.0


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
        self.metadata = [("authorization", f"Bearer {credential}")]
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
    """The real token_service binary on one data directory."""

    def __init__(self, work_dir):
        self.data = os.path.join(work_dir, "data")
        self.log_path = os.path.join(work_dir, "token_service.log")
        self.process = None
        self.address = None

    def start(self):
        self.address = f"127.0.0.1:{free_port()}"
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [TOKEN_SERVICE, f"--listen={self.address}",
             f"--data-dir={self.data}", "--log-level=warn",
             "--change-progress-interval=100ms",
             # The writers are one caller; the limiter is not under test.
             "--rate-limit-per-second=1000000", "--rate-limit-burst=1000000"],
            stdout=self.log, stderr=subprocess.STDOUT)
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
                                  name=f"crash {name} {n}")
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
            if not token.name.startswith("crash "):
                continue  # e.g. the bootstrap sidecar's token
            states[token.id] = token.DESCRIPTOR.fields_by_name[
                "state"].enum_type.values_by_number[token.state].name
        page_token = page.next_page_token
        if not page_token:
            return states


def check(server, acknowledged, high_water):
    """Checks the restarted server against everything acknowledged before;
    returns the committed revision."""
    sidecar = Client(server.address, server.credential("sidecar"))
    admin = Client(server.address, server.credential("admin"))
    try:
        changes, head = read_log(sidecar)
        if head < high_water:
            raise Broken(f"revision went back: {head} after {high_water} "
                         f"was acknowledged or seen")

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
    if not os.path.exists(TOKEN_SERVICE):
        raise SystemExit(f"{TOKEN_SERVICE} not built")
    rng = random.Random(seed)
    work_dir = tempfile.mkdtemp(prefix="warden-crash-")
    server = Server(work_dir)
    acknowledged = Acknowledged()
    high_water = 0
    started = time.time()
    try:
        server.start()
        high_water = check(server, acknowledged, high_water)
        for cycle in range(1, cycles + 1):
            # Write hard, then kill at a random moment.
            admin = server.credential("admin")
            stop = threading.Event()
            threads = [threading.Thread(
                target=writer, args=(server.address, admin, f"{cycle}.{i}",
                                     acknowledged, stop))
                for i in range(writers)]
            before = len(acknowledged.writes)
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.3, 2.0))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=RPC_TIMEOUT + 5)
            acked = len(acknowledged.writes) - before
            high_water = max([high_water] +
                             [r for r, _, _ in acknowledged.writes])

            server.start()
            high_water = check(server, acknowledged, high_water)
            print(f"cycle {cycle}: {acked} writes acknowledged before the "
                  f"kill; after restart revision {high_water}, log 1.."
                  f"{high_water} contiguous, all "
                  f"{len(acknowledged.writes)} acknowledged writes present",
                  flush=True)
        server.stop()
    except Broken as e:
        server.stop()
        keep = True
        print(f"FAILED: {e}\nserver log: {server.log_path}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"kept {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"crash test passed: {cycles} kill -9 cycles, {writers} writers, "
          f"{len(acknowledged.writes)} acknowledged writes, final revision "
          f"{high_water}, {time.time() - started:.0f} s (seed {seed})")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seed", type=int,
                        default=int.from_bytes(os.urandom(4), "big"))
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory and log")
    args = parser.parse_args()
    return run(args.cycles, args.writers, args.seed, args.keep)


if __name__ == "__main__":
    sys.exit(main())
