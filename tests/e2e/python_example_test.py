#!/usr/bin/python3
"""Runs the Python example client (tools/examples/python) against the real
binaries: a TokenService and an AuthzService sidecar following it. The
client's stubs are generated here from the protos with python3-grpc-tools,
as another team would generate them.
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grpc_reflect  # noqa: E402
from token_service_e2e_test import BUILD_DIR, TokenServiceProcess, free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(ROOT, "tools", "examples", "python")
AUTHZ_BINARY = os.path.join(BUILD_DIR, "services", "authz_service",
                            "authz_service")


class PythonExampleTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.stubs = os.path.join(self.tmp.name, "stubs")
        subprocess.run([os.path.join(EXAMPLE, "generate_stubs.sh"),
                        self.stubs], check=True)

        self.token_service = TokenServiceProcess(
            os.path.join(self.tmp.name, "data"))
        self.token_service.start()
        data = self.token_service.data_dir
        with open(os.path.join(data, "bootstrap-admin.token")) as f:
            self.admin = f.read().strip()

        self.sidecar_address = f"127.0.0.1:{free_port()}"
        self.sidecar_log = open(os.path.join(self.tmp.name, "authz.log"), "w")
        self.sidecar = subprocess.Popen(
            [AUTHZ_BINARY, f"--listen={self.sidecar_address}",
             f"--token-service={self.token_service.address}",
             f"--credential-file={os.path.join(data, 'bootstrap-sidecar.token')}"],
            stdout=self.sidecar_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if grpc_reflect.health(self.sidecar_address) == "SERVING":
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.1)
        self.fail("the sidecar did not become SERVING")

    def tearDown(self):
        self.sidecar.terminate()
        self.sidecar.wait(timeout=30)
        self.sidecar_log.close()
        self.token_service.stop()
        self.tmp.cleanup()

    def call(self, method, request):
        return grpc_reflect.call(
            self.token_service.address, method, request,
            [("authorization", f"Bearer {self.admin}")])

    def run_example(self, *args):
        env = dict(os.environ, PYTHONPATH=self.stubs)
        return subprocess.run(
            ["/usr/bin/python3", os.path.join(EXAMPLE, "authorize_request.py"),
             "--sidecar", self.sidecar_address, *args],
            capture_output=True, text=True, env=env, timeout=60)

    def test_authorizes_through_the_sidecar(self):
        subject = grpc_reflect.call(
            self.token_service.address,
            "warden.token.v1.TokenService/Authenticate",
            {"token": self.admin})["subject"]
        item = self.call("warden.directory.v1.DirectoryService/CreateItem",
                         {"type": "template", "name": "Daily site check"})
        grant = self.call(
            "warden.directory.v1.DirectoryService/CreateGrant",
            {"itemId": item["item"]["id"], "level": "ACCESS_LEVEL_VIEW",
             "grantee": {"userId": subject["subjectId"],
                         "granteeOrganizationId": subject["organizationId"]}})
        revision = grant["revision"]

        allowed = self.run_example("--token", self.admin, "--permission",
                                   "templates.view", "--item",
                                   item["item"]["id"], "--min-revision",
                                   str(revision))
        self.assertEqual(allowed.returncode, 0, allowed.stdout + allowed.stderr)
        self.assertIn("allowed=true", allowed.stdout)
        self.assertIn('actor="Administrator"', allowed.stdout)

        denied = self.run_example("--token", self.admin, "--permission",
                                  "templates.edit", "--item",
                                  item["item"]["id"], "--min-revision",
                                  str(revision))
        self.assertEqual(denied.returncode, 1, denied.stdout + denied.stderr)
        self.assertIn("reason=DECISION_REASON_ACCESS_LEVEL_TOO_LOW",
                      denied.stdout)

        unknown = self.run_example("--token", "wdn_user_" + "A" * 49,
                                   "--permission", "templates.view", "--item",
                                   item["item"]["id"])
        self.assertEqual(unknown.returncode, 1, unknown.stdout)
        self.assertNotIn("allowed=true", unknown.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
