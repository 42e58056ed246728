#!/usr/bin/python3
"""End-to-end test of AuthzService sidecars following a real TokenService.

Starts the real token_service binary and two real authz_service binaries on
free loopback ports, with a fresh data directory in a temp dir; the sidecars
use the credential TokenService writes to <data>/bootstrap-sidecar.token.
Drives everything through server reflection (grpc_reflect.py), sharing no
code with the servers. Every check after a write passes the write's revision
as min_revision, so nothing waits on wall-clock time except process starts.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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
AUTHZ = "warden.authz.v1.AuthzService/"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A real binary in a subprocess, its output in a log file."""

    def __init__(self, name, args_fn, log_dir):
        self.name = name
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.args_fn = args_fn
        self.log_path = os.path.join(log_dir, f"{name}-{self.port}.log")
        self.process = None

    def start(self, wait_serving=True):
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.args_fn(self.address),
                                        stdout=self.log,
                                        stderr=subprocess.STDOUT)
        if not wait_serving:
            return
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.logs()}")
            try:
                if grpc_reflect.health(self.address) == "SERVING":
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not become SERVING: "
                             f"{self.logs()}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]


class AuthzEndToEnd(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.token_service = Process(
            "token_service",
            lambda address: [TOKEN_SERVICE, f"--listen={address}",
                             f"--data-dir={self.data}",
                             "--change-progress-interval=200ms"],
            self.tmp.name)
        self.token_service.start()
        with open(os.path.join(self.data, "bootstrap-admin.token")) as f:
            self.admin = f.read().strip()
        credential = os.path.join(self.data, "bootstrap-sidecar.token")
        self.sidecars = [
            Process(f"authz_service{i}",
                    lambda address: [AUTHZ_SERVICE, f"--listen={address}",
                                     "--token-service="
                                     f"{self.token_service.address}",
                                     f"--credential-file={credential}"],
                    self.tmp.name)
            for i in range(2)]
        for sidecar in self.sidecars:
            sidecar.start()

    def tearDown(self):
        for process in self.sidecars + [self.token_service]:
            process.stop()
        self.tmp.cleanup()

    def tokens(self, method, request):
        return grpc_reflect.call(
            self.token_service.address, TOKENS + method, request,
            [("authorization", f"Bearer {self.admin}")])

    def authenticate(self, sidecar, secret, revision):
        """The auth failure name, or None when the token authenticates."""
        try:
            answer = grpc_reflect.call(
                sidecar.address, AUTHZ + "Authenticate",
                {"token": secret, "minRevision": str(revision)}, timeout=20)
        except grpc_reflect.CallError as error:
            self.assertEqual(error.code, "UNAUTHENTICATED", error.message)
            return dict(error.trailing_metadata).get("warden-auth-failure")
        self.assertGreaterEqual(int(answer["revision"]), int(revision))
        return None

    def create_token(self, name):
        created = self.tokens("CreateServiceUserToken", {"name": name})
        return (created["secret"], created["token"]["token"]["id"],
                int(created["revision"]))

    def assert_everywhere(self, secret, revision, failure):
        for sidecar in self.sidecars:
            self.assertEqual(self.authenticate(sidecar, secret, revision),
                             failure, sidecar.name)

    def test_revoke_regenerate_delete_reach_both_sidecars(self):
        secret, token_id, revision = self.create_token("Export")
        self.assert_everywhere(secret, revision, None)

        revoked = self.tokens("RevokeToken", {"tokenId": token_id})
        self.assert_everywhere(secret, int(revoked["revision"]), "revoked")

        # Only a revoked or expired token can be regenerated.
        regenerated = self.tokens("RegenerateToken", {"tokenId": token_id})
        revision = int(regenerated["revision"])
        self.assert_everywhere(secret, revision, "unknown")
        new_secret = regenerated["secret"]
        self.assert_everywhere(new_secret, revision, None)

        # Only a revoked token can be deleted.
        revoked = self.tokens("RevokeToken", {"tokenId": token_id})
        self.assert_everywhere(new_secret, int(revoked["revision"]),
                               "revoked")
        deleted = self.tokens("DeleteToken", {"tokenId": token_id})
        self.assert_everywhere(new_secret, int(deleted["revision"]),
                               "unknown")

    def test_token_service_sigkill_and_restart(self):
        kept, _, _ = self.create_token("Kept")
        doomed, doomed_id, revision = self.create_token("Doomed")
        self.assert_everywhere(doomed, revision, None)

        self.token_service.kill()
        self.token_service.start()
        revoked = self.tokens("RevokeToken", {"tokenId": doomed_id})
        revision = int(revoked["revision"])
        self.assert_everywhere(doomed, revision, "revoked")
        self.assert_everywhere(kept, revision, None)
        newer, _, revision = self.create_token("After restart")
        self.assert_everywhere(newer, revision, None)

    def test_sidecar_restart_converges(self):
        sidecar = self.sidecars[0]
        sidecar.stop()
        secret, token_id, revision = self.create_token("While away")
        revoked = self.tokens("RevokeToken", {"tokenId": token_id})
        sidecar.start()
        self.assertEqual(
            self.authenticate(sidecar, secret, int(revoked["revision"])),
            "revoked")
        status = grpc_reflect.call(sidecar.address,
                                   AUTHZ + "GetReplicaStatus",
                                   {"minRevision": revoked["revision"]})
        self.assertFalse(status.get("stale", False))


if __name__ == "__main__":
    unittest.main(verbosity=2)
