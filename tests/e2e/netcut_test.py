#!/usr/bin/python3
"""Network cut test: a sidecar cut off from TokenService fails closed, then
recovers by itself, and the change stream resumed across the cut misses
nothing.

Needs root and iproute2: it creates two network namespaces of its own joined
by a veth pair, runs the real token_service in one and the real
authz_service (--max-staleness=2) in the other, and sends no traffic outside
them. The test process itself stays outside both and talks to them through
small helper processes it starts inside each namespace (this script with
--agent or --follow), over pipes.

  1. A follower of its own in the sidecar's namespace reads Watch from
     revision 0 with a 1 s keepalive; whenever the connection fails it calls
     Watch again after the last revision it was delivered.
  2. Tokens are created and the sidecar allows one of them.
  3. The link is cut (ip link set down). The token is revoked and more tokens
     are written at TokenService. The sidecar must, once past its staleness
     limit, answer Check with UNAVAILABLE ("the replica is stale"), report
     stale in GetReplicaStatus and NOT_SERVING in health, and never allow
     the revoked token.
  4. The link is restored. Without being touched, the sidecar reaches the
     last revision written, denies the revoked token as revoked, and serves.
  5. The follower's record across the cut, compared with the whole log read
     inside TokenService's namespace, is ordered, has no duplicates and no
     gaps, holds each revision whole in one message and byte for byte equal
     to the log, and came from more than one connection (it did resume).
  6. A second cut lasts more than --max-follower-lag revisions: a follower
     resuming after it is refused with OUT_OF_RANGE ("take a new snapshot",
     as the Watch contract documents), and the sidecar still ends up
     current and denies the token revoked during the cut. (Resuming below
     the retained history gives the same error, but the store compacts its
     log once a minute, too slow for this test.)

Exits 77 (ctest SKIP_RETURN_CODE) without root, without `ip`, or when
network namespaces cannot be created.
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
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
from crash_test import (AUTHZ_SERVICE, TOKEN_SERVICE, TOKENS, WATCH,  # noqa
                        Broken)

AUTHZ = "warden.authz.v1.AuthzService/"
SKIP = 77

# Addresses inside the test's namespaces only.
TOKEN_SERVICE_IP = "10.77.0.1"
SIDECAR_SIDE_IP = "10.77.0.2"
TOKEN_SERVICE_ADDRESS = f"{TOKEN_SERVICE_IP}:7001"
SIDECAR_ADDRESS = "127.0.0.1:7002"
MAX_STALENESS_SECONDS = 2
# A follower further behind than this is cut off; the second cut writes
# more than this.
MAX_FOLLOWER_LAG = 50
# An organization-level permission the bootstrap administrators hold.
PERMISSION = "platform.activity_log"
# Bound on every wait for something that happens by itself.
PATIENCE = 60.0


# --- Helpers that run inside a namespace -------------------------------------


def run_agent():
    """Answers one JSON request per stdin line with one JSON line: a unary
    call ({"address", "method", "request", "token", "timeout"}) or a health
    query ({"health": address}). Replies {"reply": ...} or {"code",
    "message"}."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if "health" in request:
                reply = grpc_reflect.health(request["health"])
            else:
                token = request.get("token")
                metadata = ([("authorization", f"Bearer {token}")]
                            if token else None)
                reply = grpc_reflect.call(
                    request["address"], request["method"],
                    request.get("request"), metadata,
                    timeout=request.get("timeout", 10.0))
            answer = {"reply": reply}
        except grpc_reflect.CallError as e:
            answer = {"code": e.code, "message": e.message}
        except (grpc_reflect.ReflectionError, grpc.RpcError) as e:
            answer = {"code": "UNAVAILABLE", "message": str(e)}
        print(json.dumps(answer), flush=True)


def run_follower(address, credential_file, after, until):
    """Follows Watch from `after`, printing one JSON line per message
    ({"connection", "committed", "changes": [[revision, base64 record]]}) or
    failed connection ({"connection", "code", "message"}); reconnects after
    the last revision delivered. With `until`, exits once a progress message
    shows everything up to it was delivered."""
    with open(credential_file) as f:
        metadata = [("authorization", f"Bearer {f.read().strip()}")]
    # A dead link is noticed within about two seconds.
    options = [("grpc.keepalive_time_ms", 1000),
               ("grpc.keepalive_timeout_ms", 1000),
               ("grpc.keepalive_permit_without_calls", 1),
               ("grpc.http2.max_pings_without_data", 0)]
    connection = 0
    stub = None
    while True:
        connection += 1
        channel = grpc.insecure_channel(address, options)
        try:
            if stub is None:
                reflector = grpc_reflect.Reflector(channel, metadata, 5.0)
                method = reflector.method(WATCH)
                request_class = grpc_reflect._message_class(method.input_type)
                response_class = grpc_reflect._message_class(
                    method.output_type)
            stub = channel.unary_stream(
                f"/{WATCH}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_class.FromString)
            stream = stub(request_class(after_revision=after,
                                        follower_name="netcut-test"),
                          metadata=metadata)
            for message in stream:
                changes = [[c.revision, base64.b64encode(
                    c.SerializeToString(deterministic=True)).decode()]
                    for c in message.changes]
                print(json.dumps({"connection": connection,
                                  "committed": message.committed_revision,
                                  "changes": changes}), flush=True)
                if changes:
                    after = changes[-1][0]
                elif until is not None and after >= until:
                    return
        except grpc.RpcError as e:
            print(json.dumps({"connection": connection,
                              "code": e.code().name,
                              "message": e.details()}), flush=True)
            if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                return
        except grpc_reflect.ReflectionError as e:
            print(json.dumps({"connection": connection, "code": "REFLECTION",
                              "message": str(e)}), flush=True)
            stub = None
        finally:
            channel.close()
        time.sleep(0.2)


# --- The test, outside the namespaces ----------------------------------------


def ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


class Network:
    """Two namespaces named after this process, joined by a veth pair."""

    def __init__(self):
        tag = f"wdn{os.getpid()}"
        self.token_side = f"{tag}-ts"
        self.sidecar_side = f"{tag}-sc"
        # Interface names: at most 15 characters.
        self.token_link = f"{tag}t"[:15]
        self.sidecar_link = f"{tag}s"[:15]

    @staticmethod
    def remove_leftovers():
        """Deletes namespaces of earlier runs whose process is gone."""
        for line in ip("netns", "list", check=False).stdout.splitlines():
            match = re.match(r"(wdn(\d+)-(ts|sc))\b", line)
            if match and not os.path.exists(f"/proc/{match.group(2)}"):
                ip("netns", "delete", match.group(1), check=False)

    def create(self):
        ip("netns", "add", self.token_side)
        ip("netns", "add", self.sidecar_side)
        ip("link", "add", self.token_link, "type", "veth", "peer", "name",
           self.sidecar_link)
        ip("link", "set", self.token_link, "netns", self.token_side)
        ip("link", "set", self.sidecar_link, "netns", self.sidecar_side)
        for namespace, link, address in (
                (self.token_side, self.token_link, TOKEN_SERVICE_IP),
                (self.sidecar_side, self.sidecar_link, SIDECAR_SIDE_IP)):
            ip("-n", namespace, "addr", "add", f"{address}/30", "dev", link)
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "link", "set", link, "up")

    def set_link(self, up):
        ip("-n", self.sidecar_side, "link", "set", self.sidecar_link,
           "up" if up else "down")

    def delete(self):
        # Deleting a namespace deletes the veth end in it, and so the pair.
        for namespace in (self.token_side, self.sidecar_side):
            ip("netns", "delete", namespace, check=False)

    def command(self, namespace, args):
        return ["ip", "netns", "exec", namespace] + args


class Processes:
    """Every process the test started, stopped in reverse order."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.started = []

    def start(self, name, command, **kwargs):
        if "stdout" not in kwargs:
            log = open(os.path.join(self.log_dir, f"{name}.log"), "a")
            kwargs.update(stdout=log, stderr=subprocess.STDOUT)
        process = subprocess.Popen(command, **kwargs)
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Agent:
    """Calls RPCs from inside one namespace through an --agent helper."""

    def __init__(self, processes, network, namespace):
        self.process = processes.start(
            f"agent-{namespace}",
            network.command(namespace, [sys.executable, __file__,
                                        "--agent"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise Broken("an agent helper died")
        return json.loads(line)

    def call(self, address, method, request, token=None, timeout=10.0):
        """The reply as a dict; raises Broken on an error status."""
        answer = self.ask(address=address, method=method, request=request,
                          token=token, timeout=timeout)
        if "reply" not in answer:
            raise Broken(f"{method}: {answer['code']} {answer['message']}")
        return answer["reply"]

    def health(self, address):
        answer = self.ask(health=address)
        return answer.get("reply", answer.get("code"))

    def wait_serving(self, address, process, name):
        deadline = time.time() + PATIENCE
        while time.time() < deadline:
            if process.poll() is not None:
                raise Broken(f"{name} exited with {process.returncode}")
            if self.health(address) == "SERVING":
                return
            time.sleep(0.1)
        raise Broken(f"{name} not SERVING after {PATIENCE:.0f} s")


class Follower:
    """A --follow helper; collects what it prints."""

    def __init__(self, processes, network, namespace, credential_file,
                 after=0, until=None):
        args = [sys.executable, __file__, "--follow", TOKEN_SERVICE_ADDRESS,
                credential_file, str(after)]
        if until is not None:
            args += ["--until", str(until)]
        self.process = processes.start(
            f"follower-{namespace}", network.command(namespace, args),
            stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def messages(self):
        with self.lock:
            return list(self.lines)

    def delivered(self):
        """The last revision delivered so far."""
        last = 0
        for message in self.messages():
            for revision, _ in message.get("changes", []):
                last = revision
        return last


def wait_until(condition, failure):
    deadline = time.time() + PATIENCE
    while not condition():
        if time.time() > deadline:
            raise Broken(failure)
        time.sleep(0.1)


def verify_history(messages, reference):
    """Checks the follower's record against the log; returns (revisions,
    connections)."""
    position = 0
    connections = set()
    for message in messages:
        if "code" in message:
            if message["code"] == "OUT_OF_RANGE":
                raise Broken(f"resuming after {position} was refused: "
                             f"{message['message']}")
            continue
        connections.add(message["connection"])
        if message["committed"] < position:
            raise Broken(f"committed_revision {message['committed']} below "
                         f"the {position} already delivered")
        for revision, record in message["changes"]:
            if revision <= position:
                raise Broken(f"revision {revision} delivered again after "
                             f"{position}")
            if revision != position + 1:
                raise Broken(f"gap: revision {revision} follows {position}")
            if revision not in reference:
                raise Broken(f"revision {revision} was delivered but is not "
                             f"in the log")
            if base64.b64decode(record) != reference[revision]:
                raise Broken(f"revision {revision} as delivered differs from "
                             f"the log (split or altered)")
            position = revision
    return position, len(connections)


def check_answer(agent, secret, min_revision=0):
    """Check of the test's permission for the token, as (code, reply)."""
    answer = agent.ask(address=SIDECAR_ADDRESS, method=AUTHZ + "Check",
                       request={"subject": {"token": secret},
                                "permission": PERMISSION,
                                "minRevision": str(min_revision)},
                       timeout=40.0)
    return answer.get("code", "OK"), answer


def run(keep):
    network = Network()
    work_dir = tempfile.mkdtemp(prefix="warden-netcut-")
    processes = Processes(work_dir)
    data = os.path.join(work_dir, "data")
    credential_file = os.path.join(data, "bootstrap-sidecar.token")
    try:
        Network.remove_leftovers()
        try:
            network.create()
        except RuntimeError as e:
            print(f"SKIPPED: cannot create network namespaces: {e}")
            return SKIP
        ts = network.token_side
        sc = network.sidecar_side

        # TokenService in its namespace, reachable only over the veth pair.
        token_service = processes.start("token_service", network.command(ts, [
            TOKEN_SERVICE, f"--listen={TOKEN_SERVICE_ADDRESS}",
            "--allow-plaintext", f"--data-dir={data}",
            "--change-progress-interval=100ms",
            f"--max-follower-lag={MAX_FOLLOWER_LAG}"]))
        writer = Agent(processes, network, ts)
        writer.wait_serving(TOKEN_SERVICE_ADDRESS, token_service,
                            "token_service")
        with open(os.path.join(data, "bootstrap-admin.token")) as f:
            admin = f.read().strip()

        def write(method, request):
            return writer.call(TOKEN_SERVICE_ADDRESS, TOKENS + method,
                               request, token=admin)

        # The sidecar and a follower of our own on the other side.
        follower = Follower(processes, network, sc, credential_file)
        sidecar = processes.start("authz_service", network.command(sc, [
            AUTHZ_SERVICE, f"--listen={SIDECAR_ADDRESS}",
            f"--token-service={TOKEN_SERVICE_ADDRESS}",
            "--allow-plaintext-upstream",
            f"--credential-file={credential_file}",
            f"--max-staleness={MAX_STALENESS_SECONDS}"]))
        checker = Agent(processes, network, sc)
        checker.wait_serving(SIDECAR_ADDRESS, sidecar, "authz_service")

        # Before the cut: the sidecar allows a fresh token.
        created = write("CreateServiceUserToken", {"name": "netcut kept"})
        secret = created["secret"]
        token_id = created["token"]["token"]["id"]
        code, answer = check_answer(checker, secret, created["revision"])
        if code != "OK" or not answer["reply"].get("allowed"):
            raise Broken(f"before the cut the sidecar did not allow the "
                         f"token: {answer}")
        before_cut = follower.delivered()

        # Cut, and keep writing at TokenService.
        network.set_link(False)
        revoked = write("RevokeToken", {"tokenId": token_id})
        last_revision = int(revoked["revision"])
        for i in range(6):
            made = write("CreateServiceUserToken", {"name": f"netcut {i}"})
            gone = write("RevokeToken",
                         {"tokenId": made["token"]["token"]["id"]})
            last_revision = int(gone["revision"])

        # Past the staleness limit the sidecar refuses to decide.
        deadline = time.time() + PATIENCE
        while True:
            code, answer = check_answer(checker, secret)
            if code == "OK" and not answer["reply"].get("allowed"):
                raise Broken(f"cut off, the sidecar denied the token for a "
                             f"revoke it cannot have seen: {answer}")
            if code == "UNAVAILABLE":
                if "stale" not in answer["message"]:
                    raise Broken(f"UNAVAILABLE for another reason: {answer}")
                break
            if code != "OK":
                raise Broken(f"Check while cut off: {answer}")
            if time.time() > deadline:
                raise Broken(f"still deciding {PATIENCE:.0f} s after the cut")
            time.sleep(0.2)
        stale_message = answer["message"]
        status = checker.call(SIDECAR_ADDRESS, AUTHZ + "GetReplicaStatus", {})
        if not status.get("stale"):
            raise Broken(f"GetReplicaStatus not stale while cut: {status}")
        if int(status.get("revision", 0)) >= int(revoked["revision"]):
            raise Broken(f"the sidecar saw revision {status['revision']} "
                         f"through a cut link")
        deadline = time.time() + PATIENCE
        while checker.health(SIDECAR_ADDRESS) != "NOT_SERVING":
            if time.time() > deadline:
                raise Broken("health still SERVING while stale")
            time.sleep(0.2)
        for _ in range(3):
            code, answer = check_answer(checker, secret)
            if code != "UNAVAILABLE":
                raise Broken(f"stale sidecar answered {answer}")

        # Restore the link; the sidecar catches up by itself.
        network.set_link(True)
        code, answer = "", {}
        for _ in range(3):  # each waits up to 30 s for min_revision
            code, answer = check_answer(checker, secret, last_revision)
            if code != "UNAVAILABLE":
                break
        if code != "OK":
            raise Broken(f"after the link came back: {answer}")
        reply = answer["reply"]
        if reply.get("allowed") or reply.get("authFailure") != \
                "AUTH_FAILURE_REVOKED":
            raise Broken(f"the revoked token after recovery: {reply}")
        deadline = time.time() + PATIENCE
        while checker.health(SIDECAR_ADDRESS) != "SERVING":
            if time.time() > deadline:
                raise Broken("health not SERVING after recovery")
            time.sleep(0.2)

        # Our follower resumed too; compare its record with the whole log.
        deadline = time.time() + PATIENCE
        while follower.delivered() < last_revision:
            if time.time() > deadline:
                raise Broken(f"the follower stopped at "
                             f"{follower.delivered()}, the log at "
                             f"{last_revision}")
            time.sleep(0.2)
        follower.process.send_signal(signal.SIGTERM)
        follower.process.wait(timeout=30)
        follower.reader.join(timeout=30)
        # The whole log up to what the follower got (the sidecar's usage
        # reports may have written more).
        whole = Follower(processes, network, ts, credential_file,
                         until=follower.delivered())
        try:
            whole.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            raise Broken(f"reading the log up to {follower.delivered()} "
                         f"took over {PATIENCE:.0f} s")
        whole.reader.join(timeout=30)
        reference = {}
        for message in whole.messages():
            for revision, record in message.get("changes", []):
                reference[revision] = base64.b64decode(record)
        revisions, connections = verify_history(follower.messages(),
                                                reference)
        if revisions < last_revision:
            raise Broken(f"history ends at {revisions}")
        if len(reference) < revisions:
            raise Broken(f"the log read inside TokenService's namespace has "
                         f"{len(reference)} revisions, fewer than the "
                         f"{revisions} delivered")
        if connections < 2:
            raise Broken("the follower never reconnected: the cut was not "
                         "noticed and nothing was resumed")
        # A second cut, long enough (in revisions) that our follower falls
        # further behind than --max-follower-lag: resuming is refused with
        # OUT_OF_RANGE telling it to take a new snapshot. The sidecar, whose
        # stream outlives the cut, still ends up current.
        first_cut_end = last_revision
        behind = Follower(processes, network, sc, credential_file,
                          after=revisions)
        wait_until(lambda: any("committed" in m for m in behind.messages()),
                   "the second follower never connected")
        doomed = write("CreateServiceUserToken", {"name": "netcut second"})
        code, answer = check_answer(checker, doomed["secret"],
                                    doomed["revision"])
        if code != "OK" or not answer["reply"].get("allowed"):
            raise Broken(f"before the second cut: {answer}")
        network.set_link(False)
        wait_until(lambda: any("code" in m for m in behind.messages()),
                   "the follower did not notice the second cut")
        revoked = write("RevokeToken",
                        {"tokenId": doomed["token"]["token"]["id"]})
        second_cut_from = int(doomed["revision"])
        last_revision = int(revoked["revision"])
        while last_revision - second_cut_from <= MAX_FOLLOWER_LAG:
            made = write("CreateServiceUserToken",
                         {"name": f"netcut second {last_revision}"})
            gone = write("RevokeToken",
                         {"tokenId": made["token"]["token"]["id"]})
            last_revision = int(gone["revision"])
        network.set_link(True)
        try:
            behind.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            raise Broken(f"the follower {last_revision - second_cut_from} "
                         f"revisions behind was not refused")
        behind.reader.join(timeout=30)
        refusal = behind.messages()[-1]
        if (refusal.get("code") != "OUT_OF_RANGE" or
                "take a new snapshot" not in refusal.get("message", "")):
            raise Broken(f"resuming {last_revision - second_cut_from} "
                         f"revisions behind ended with {refusal}")
        code, answer = "", {}
        for _ in range(3):  # each waits up to 30 s for min_revision
            code, answer = check_answer(checker, doomed["secret"],
                                        last_revision)
            if code != "UNAVAILABLE":
                break
        reply = answer.get("reply", {})
        if code != "OK" or reply.get("allowed") or \
                reply.get("authFailure") != "AUTH_FAILURE_REVOKED":
            raise Broken(f"after the second cut: {answer}")

        print(f"netcut test passed: cut after revision {before_cut}, "
              f"{first_cut_end - before_cut} revisions written while cut; "
              f"sidecar refused to decide ({stale_message}), recovered to "
              f"{first_cut_end} and denied the revoked token; watch history "
              f"1..{revisions} over {connections} connections ordered, "
              f"whole, no duplicates or gaps; a follower "
              f"{last_revision - second_cut_from} revisions behind after a "
              f"second cut refused with OUT_OF_RANGE, the sidecar current")
        return 0
    except Broken as e:
        keep = True
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
        network.delete()
        if keep:
            print(f"logs kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory and logs")
    parser.add_argument("--agent", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--follow", nargs=3, help=argparse.SUPPRESS,
                        metavar=("ADDRESS", "CREDENTIAL_FILE", "AFTER"))
    parser.add_argument("--until", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:
        run_agent()
        return 0
    if args.follow:
        address, credential_file, after = args.follow
        run_follower(address, credential_file, int(after), args.until)
        return 0

    if os.geteuid() != 0:
        print("SKIPPED: needs root to create network namespaces")
        return SKIP
    if shutil.which("ip") is None:
        print("SKIPPED: needs `ip` (iproute2)")
        return SKIP
    for binary in (TOKEN_SERVICE, AUTHZ_SERVICE):
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} not built")
    # A SIGTERM (e.g. a ctest timeout) still cleans up the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    return run(args.keep)


if __name__ == "__main__":
    sys.exit(main())
