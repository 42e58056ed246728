#!/usr/bin/python3
"""End-to-end test of the real token_service binary, driven only through
server reflection by a client that shares no code with the server, exactly
as a grpcurl user would drive it.

Starts the binary on a free loopback port with a fresh data directory, walks
a service-user token through its life, checks health, --help, bad input and
a graceful SIGTERM, then restarts on the same data and checks that the
state survived.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_reflect  # noqa: E402

BUILD_DIR = os.environ.get(
    "WARDEN_BUILD_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                 "build"))
BINARY = os.path.join(BUILD_DIR, "services", "token_service", "token_service")
TOKENS = "warden.token.v1.TokenService/"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TokenServiceProcess:
    """The real binary in a subprocess."""

    def __init__(self, data_dir, extra_args=(), health_port=None):
        """`extra_args` go after the listen and data flags; with
        `health_port` (and --health-listen on it among them) readiness is
        asked there, for a TLS-only main port."""
        self.data_dir = data_dir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.extra_args = list(extra_args)
        self.health_address = (f"127.0.0.1:{health_port}" if health_port
                               else self.address)
        self.log_path = os.path.join(os.path.dirname(data_dir),
                                     f"log-{self.port}.txt")
        self.process = None

    def start(self):
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [BINARY, f"--listen={self.address}", f"--data-dir={self.data_dir}",
             "--log-format=json", *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"token_service exited: {self.logs()}")
            try:
                if grpc_reflect.health(self.health_address) == "SERVING":
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.1)
        raise AssertionError("token_service did not become SERVING")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code

    def logs(self):
        with open(self.log_path) as f:
            return f.read()


class TokenServiceEndToEnd(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.server = TokenServiceProcess(os.path.join(self.tmp.name, "data"))
        self.server.start()
        with open(os.path.join(self.server.data_dir,
                               "bootstrap-admin.token")) as f:
            self.admin = f.read().strip()
        self.secrets = [self.admin]

    def tearDown(self):
        if self.server.process.poll() is None:
            self.server.stop()
        self.tmp.cleanup()

    def call(self, method, request, token=None):
        metadata = [("authorization", f"Bearer {token or self.admin}")]
        return grpc_reflect.call(self.server.address, TOKENS + method, request,
                                 metadata)

    def test_lifecycle_through_reflection(self):
        services = grpc_reflect.list_services(self.server.address)
        self.assertIn("warden.token.v1.TokenService", services)
        self.assertIn("grpc.health.v1.Health", services)

        created = self.call("CreateServiceUserToken",
                            {"name": "Nightly export", "inactivityDays": 60})
        secret = created["secret"]
        self.secrets.append(secret)
        token_id = created["token"]["token"]["id"]
        self.assertTrue(secret.startswith("wdn_svc_"))

        subject = grpc_reflect.call(self.server.address,
                                    TOKENS + "Authenticate",
                                    {"token": secret})["subject"]
        self.assertEqual(subject["displayName"], "Nightly export")
        self.assertNotIn("loginAllowed", subject)  # false is omitted in JSON

        listed = self.call("ListServiceUserTokens", {"pageSize": 50})
        self.assertIn(token_id, [t["token"]["id"] for t in listed["tokens"]])

        self.call("RevokeToken", {"tokenId": token_id})
        with self.assertRaises(grpc_reflect.CallError) as caught:
            grpc_reflect.call(self.server.address, TOKENS + "Authenticate",
                              {"token": secret})
        self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
        self.assertIn(("warden-auth-failure", "revoked"),
                      caught.exception.trailing_metadata)

        regenerated = self.call("RegenerateToken", {"tokenId": token_id})
        self.secrets.append(regenerated["secret"])
        self.call("RevokeToken", {"tokenId": token_id})
        self.call("DeleteToken", {"tokenId": token_id})
        with self.assertRaises(grpc_reflect.CallError) as caught:
            self.call("GetToken", {"tokenId": token_id})
        self.assertEqual(caught.exception.code, "NOT_FOUND")

        # Graceful stop on SIGTERM, then the state is still there.
        kept = self.call("CreateServiceUserToken", {"name": "Survivor"})
        self.secrets.append(kept["secret"])
        self.assertEqual(self.server.stop(), 0)
        self.server.start()
        subject = grpc_reflect.call(self.server.address,
                                    TOKENS + "Authenticate",
                                    {"token": kept["secret"]})["subject"]
        self.assertEqual(subject["displayName"], "Survivor")
        self.server.stop()

        # No secret in the logs or the store's files.
        logs = self.server.logs()
        stored = b""
        for root, _, files in os.walk(os.path.join(self.server.data_dir,
                                                   "db")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    stored += f.read()
        self.assertTrue(stored)
        for secret in self.secrets:
            self.assertNotIn(secret, logs)
            self.assertNotIn(secret.encode(), stored)

    def test_errors_are_clear(self):
        with self.assertRaises(grpc_reflect.CallError) as caught:
            self.call("CreateServiceUserToken",
                      {"name": "x", "inactivityDays": 7})
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertIn("31, 45, 60 or 180", caught.exception.message)

        with self.assertRaises(grpc_reflect.CallError) as caught:
            self.call("ListServiceUserTokens", {}, token="wdn_svc_garbage")
        self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
        self.assertIn(("warden-auth-failure", "malformed"),
                      caught.exception.trailing_metadata)

    def test_help_explains_every_flag(self):
        out = subprocess.run([BINARY, "--help"], capture_output=True,
                             text=True, check=True).stdout
        for flag in ("--listen", "--data-dir", "--log-level", "--log-format",
                     "--bootstrap-admin-email", "--permission-catalog"):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
