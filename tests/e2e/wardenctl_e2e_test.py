#!/usr/bin/python3
"""End-to-end test of wardenctl against the real token_service binary.

Starts token_service on a free loopback port with a fresh data directory and
runs the wardenctl binary for the common admin jobs, checking what it prints
(tables for people, --json for scripts), that it never prints the
credential, and the exit codes scripts rely on: 0 ok, 2 usage or
INVALID_ARGUMENT, 3 not found, 4 authentication or permission, 5
precondition, limit or conflict, 6 unavailable.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_reflect  # noqa: E402
from token_service_e2e_test import (  # noqa: E402
    BUILD_DIR, TokenServiceProcess, free_port)

WARDENCTL = os.path.join(BUILD_DIR, "tools", "wardenctl", "wardenctl")
SOURCE_DIR = os.environ.get("WARDEN_SOURCE_DIR", os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MAKE_CERTS = os.path.join(SOURCE_DIR, "deploy", "kubernetes", "overlays",
                          "example", "make-certs.sh")


class WardenctlEndToEnd(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = TokenServiceProcess(os.path.join(cls.tmp.name, "data"))
        cls.server.start()
        cls.admin_file = os.path.join(cls.server.data_dir,
                                      "bootstrap-admin.token")
        cls.sidecar_file = os.path.join(cls.server.data_dir,
                                        "bootstrap-sidecar.token")
        with open(cls.admin_file) as f:
            cls.admin = f.read().strip()

    @classmethod
    def tearDownClass(cls):
        if cls.server.process.poll() is None:
            cls.server.stop()
        cls.tmp.cleanup()

    def run_ctl(self, *args, token_file=None, env=None, expect=0):
        """Runs wardenctl with the admin credential from the environment."""
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin"),
                    "WARDEN_ADDRESS": self.server.address,
                    "WARDEN_TOKEN_FILE": token_file or self.admin_file}
        full_env.update(env or {})
        done = subprocess.run([WARDENCTL, *args], capture_output=True,
                              text=True, env=full_env, timeout=60)
        self.assertEqual(
            done.returncode, expect,
            f"wardenctl {' '.join(args)}\nstdout: {done.stdout}\n"
            f"stderr: {done.stderr}")
        # The credential is never echoed, whatever happened.
        self.assertNotIn(self.admin, done.stdout + done.stderr)
        return done

    def json_of(self, *args, **kwargs):
        return json.loads(self.run_ctl("--json", *args, **kwargs).stdout)

    def admin_permission_set(self):
        sets = self.json_of("permission-sets", "list")["permissionSets"]
        return next(s["id"] for s in sets if s["name"] == "Administrator")

    # A service-user token through create, list, edit, revoke, regenerate and
    # delete; secrets shown once with a warning on stderr.
    def test_token_lifecycle(self):
        created = self.run_ctl("--json", "tokens", "create-service",
                               "--name", "Nightly export",
                               "--inactivity-days", "60")
        reply = json.loads(created.stdout)
        secret = reply["secret"]
        token_id = reply["token"]["token"]["id"]
        self.assertTrue(secret.startswith("wdn_svc_"))
        self.assertIn("will not be shown again", created.stderr)
        self.assertNotIn(secret, created.stderr)

        listed = self.json_of("tokens", "list")
        self.assertIn(token_id,
                      [t["token"]["id"] for t in listed["tokens"]])
        table = self.run_ctl("tokens", "list").stdout
        self.assertRegex(table.splitlines()[0], r"^ID\s+NAME\s+KIND\s+STATE")
        row = next(line for line in table.splitlines() if token_id in line)
        self.assertIn("Nightly export", row)
        self.assertIn("active", row)
        self.assertNotIn(secret, table)

        self.run_ctl("tokens", "edit", token_id, "--name", "Weekly export")
        shown = self.run_ctl("tokens", "get", token_id).stdout
        self.assertRegex(shown, r"name:\s+Weekly export")
        self.assertRegex(shown, r"inactivity days:\s+60")

        revoked = self.run_ctl("tokens", "revoke", token_id).stdout
        self.assertIn(f"revoked {token_id} at revision", revoked)
        with self.assertRaises(grpc_reflect.CallError) as caught:
            grpc_reflect.call(self.server.address,
                              "warden.token.v1.TokenService/Authenticate",
                              {"token": secret})
        self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
        self.assertEqual(
            self.json_of("tokens", "get", token_id)["token"]["token"]
            ["state"], "TOKEN_STATE_REVOKED")

        regenerated = self.run_ctl("tokens", "regenerate", token_id)
        new_secret = regenerated.stdout.split("secret: ")[1].split()[0]
        self.assertNotEqual(new_secret, secret)
        self.assertIn("will not be shown again", regenerated.stderr)
        subject = grpc_reflect.call(
            self.server.address, "warden.token.v1.TokenService/Authenticate",
            {"token": new_secret})["subject"]
        self.assertEqual(subject["displayName"], "Weekly export")

        # Deleting an active token is a precondition failure; once revoked
        # it goes, and then it is not found.
        self.run_ctl("tokens", "delete", token_id, expect=5)
        self.run_ctl("tokens", "revoke", token_id)
        self.run_ctl("tokens", "delete", token_id)
        self.run_ctl("tokens", "get", token_id, expect=3)

    # The admin's own user tokens: create-user and list --user.
    def test_user_tokens(self):
        reply = self.json_of("tokens", "create-user", "--name", "My script")
        self.assertTrue(reply["secret"].startswith("wdn_"))
        listed = self.json_of("tokens", "list", "--user")
        self.assertIn(reply["token"]["token"]["id"],
                      [t["token"]["id"] for t in listed["tokens"]])

    # Exit codes for each class of failure.
    def test_exit_codes(self):
        # Server-side INVALID_ARGUMENT and local usage errors: 2.
        bad = self.run_ctl("tokens", "create-service", "--name", "x",
                           "--inactivity-days", "7", expect=2)
        self.assertIn("INVALID_ARGUMENT", bad.stderr)
        self.assertIn("31, 45, 60 or 180", bad.stderr)
        self.run_ctl("tokens", "create-service", expect=2)  # --name missing
        self.run_ctl("tokens", "frobnicate", expect=2)
        self.run_ctl("tokens", "edit", "tok_x", expect=2)  # nothing to change
        no_credential = self.run_ctl("tokens", "list",
                                     env={"WARDEN_TOKEN_FILE": ""}, expect=2)
        self.assertIn("--token-file", no_credential.stderr)

        # Not found: 3.
        self.run_ctl("tokens", "get", "tok_aaaaaaaaaaaaaaaaaaaa", expect=3)

        # Unauthenticated and permission denied: 4. The sidecar credential
        # has only platform.replication.
        failed = self.run_ctl("tokens", "list",
                              env={"WARDEN_TOKEN": "wdn_svc_garbage"},
                              expect=4)
        self.assertIn("malformed", failed.stderr)
        self.assertNotIn("wdn_svc_garbage", failed.stderr)
        self.run_ctl("users", "list", token_file=self.sidecar_file, expect=4)

        # Conflict: 5.
        self.run_ctl("groups", "create", "--name", "Twice")
        self.run_ctl("groups", "create", "--name", "Twice", expect=5)

        # Unavailable: 6.
        gone = self.run_ctl("tokens", "list", env={
            "WARDEN_ADDRESS": f"127.0.0.1:{free_port()}"}, expect=6)
        self.assertIn("UNAVAILABLE", gone.stderr)

    # A user is created, joins a group, is deactivated (which ends its
    # tokens) and cannot be deactivated twice.
    def test_users_and_groups(self):
        pset = self.admin_permission_set()
        user = self.json_of("users", "create", "--email", "ann@example.com",
                            "--display-name", "Ann",
                            "--permission-set", pset)["user"]
        self.assertEqual(user["status"], "USER_STATUS_ACTIVE")
        users = self.run_ctl("users", "list").stdout
        self.assertIn("ann@example.com", users)

        group = self.json_of("groups", "create", "--name", "Inspectors")
        group_id = group["group"]["id"]
        self.run_ctl("groups", "add-member", group_id, user["id"])
        self.run_ctl("groups", "add-member", group_id, user["id"], expect=5)
        members = self.run_ctl("groups", "members", group_id).stdout
        self.assertIn(user["id"], members)
        self.run_ctl("groups", "remove-member", group_id, user["id"])
        self.run_ctl("groups", "remove-member", group_id, user["id"],
                     expect=3)
        self.run_ctl("groups", "delete", group_id)
        self.assertNotIn(group_id, self.run_ctl("groups", "list").stdout)

        out = self.run_ctl("users", "deactivate", user["id"]).stdout
        self.assertIn(f"deactivated {user['id']}", out)
        self.assertEqual(
            self.json_of("users", "get", user["id"])["user"]["status"],
            "USER_STATUS_DEACTIVATED")
        self.run_ctl("users", "deactivate", user["id"], expect=5)
        self.run_ctl("users", "reactivate", user["id"])

        activity = self.run_ctl("activity", "list", "--limit", "5").stdout
        self.assertIn("user.reactivate", activity)

    # Explain and check answer why a subject can or cannot reach an item,
    # before and after a grant.
    def test_explain_and_check(self):
        catalog = grpc_reflect.call(
            self.server.address,
            "warden.directory.v1.DirectoryService/GetPermissionCatalog", {},
            [("authorization", f"Bearer {self.admin}")])["catalog"]
        permission = next(p for p in catalog["permissions"]
                          if p.get("itemType") and p["name"].endswith(".view"))
        viewer_set = self.json_of(
            "permission-sets", "create", "--name", "Viewers",
            "--permission", permission["name"])["permissionSet"]["id"]
        user = self.json_of("users", "create", "--email", "bo@example.com",
                            "--display-name", "Bo",
                            "--permission-set", viewer_set)["user"]["id"]
        item = self.json_of("items", "create", "--type",
                            permission["itemType"], "--name",
                            "Forklift check")["item"]["id"]

        question = ["--subject", user, "--permission", permission["name"],
                    "--item", item]
        denied = self.json_of("check", *question)
        self.assertNotIn("allowed", denied)  # false is omitted in JSON
        self.assertEqual(denied["reason"], "DECISION_REASON_NO_ACCESS")
        self.assertIn("denied: no_access",
                      self.run_ctl("check", *question).stdout)

        grant = self.json_of("grants", "create", "--item", item, "--user",
                             user, "--level", "view")["grant"]["id"]
        self.run_ctl("grants", "create", "--item", item, "--level", "view",
                     expect=2)  # no grantee
        explained = self.run_ctl("explain", *question).stdout
        self.assertRegex(explained, r"verdict:\s+allowed")
        self.assertIn(grant, explained)
        self.assertTrue(self.json_of("check", *question)["allowed"])
        self.assertIn(grant, self.run_ctl("grants", "list", "--item",
                                          item).stdout)
        self.run_ctl("grants", "delete", grant)
        self.run_ctl("grants", "delete", grant, expect=3)
        self.run_ctl("items", "delete", item)

    # watch prints one line per change and stops at --until.
    def test_watch(self):
        group_id = self.json_of("groups", "create",
                                "--name", "Watched")["group"]["id"]
        revision = self.json_of("groups", "delete", group_id)["revision"]
        revision = int(revision)  # int64 is a string in protobuf JSON
        out = self.run_ctl("watch", "--from", str(revision - 2), "--until",
                           str(revision),
                           token_file=self.sidecar_file).stdout.splitlines()
        self.assertEqual(len(out), 2, out)
        self.assertRegex(out[0], rf"^{revision - 1}\s.*group\.create\s+"
                                 rf"upsert group {group_id}")
        self.assertRegex(out[1], rf"^{revision}\s.*group\.delete\s+"
                                 rf"delete group {group_id}")
        lines = self.run_ctl("--json", "watch", "--from", str(revision - 1),
                             "--until", str(revision),
                             token_file=self.sidecar_file).stdout
        self.assertEqual(json.loads(lines.strip())["action"], "group.delete")
        # A token without platform.replication may not follow the stream.
        viewers = self.json_of("permission-sets", "create", "--name",
                               "Stream-less", "--permission",
                               "templates.view")["permissionSet"]["id"]
        secret = self.json_of("tokens", "create-service", "--name",
                              "No replication", "--permission-set",
                              viewers)["secret"]
        denied = self.run_ctl("watch", "--from", "0", "--until", "1",
                              env={"WARDEN_TOKEN": secret}, expect=4)
        self.assertIn("PERMISSION_DENIED", denied.stderr)

    # bootstrap-info names the credential files and the server's health
    # without reading out a secret.
    def test_bootstrap_info(self):
        out = self.run_ctl("bootstrap-info", "--data-dir",
                           self.server.data_dir).stdout
        self.assertIn(self.admin_file, out)
        self.assertIn(self.sidecar_file, out)
        self.assertIn("SERVING", out)
        info = self.json_of("bootstrap-info", "--data-dir",
                            self.server.data_dir)
        self.assertEqual(info["health"], "SERVING")
        self.assertTrue(info["adminTokenFileState"].startswith("present"))
        self.run_ctl("bootstrap-info", "--data-dir", self.server.data_dir,
                     env={"WARDEN_ADDRESS": f"127.0.0.1:{free_port()}"},
                     expect=6)

    # --help documents the exit codes and the environment.
    def test_help(self):
        out = self.run_ctl("--help").stdout
        for text in ("Exit codes", "WARDEN_ADDRESS", "WARDEN_TOKEN_FILE",
                     "tokens", "users", "explain", "watch"):
            self.assertIn(text, out)


class WardenctlOverTls(unittest.TestCase):
    """wardenctl against a TLS-only TokenService that asks change-stream
    followers for a client certificate, with the certificates the example
    overlay's make-certs.sh makes."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        overlay = os.path.join(cls.tmp.name, "overlay")
        os.makedirs(overlay)
        script = os.path.join(overlay, "make-certs.sh")
        shutil.copy(MAKE_CERTS, script)
        subprocess.run(["sh", script, "warden", "2"], check=True,
                       capture_output=True)
        cls.ca = os.path.join(overlay, "secrets", "ca.pem")
        cls.client_cert = os.path.join(overlay, "secrets", "sidecar.pem")
        cls.client_key = os.path.join(overlay, "secrets", "sidecar.key")
        server_dir = os.path.join(overlay, "tokenservice", "secrets")
        health_port = free_port()
        cls.server = TokenServiceProcess(
            os.path.join(cls.tmp.name, "data"),
            extra_args=[
                f"--tls-cert={server_dir}/tokenservice.pem",
                f"--tls-key={server_dir}/tokenservice.key",
                f"--tls-client-ca={server_dir}/ca.pem",
                f"--health-listen=127.0.0.1:{health_port}"],
            health_port=health_port)
        cls.server.start()
        cls.admin_file = os.path.join(cls.server.data_dir,
                                      "bootstrap-admin.token")
        cls.sidecar_file = os.path.join(cls.server.data_dir,
                                        "bootstrap-sidecar.token")

    @classmethod
    def tearDownClass(cls):
        if cls.server.process.poll() is None:
            cls.server.stop()
        cls.tmp.cleanup()

    def run_ctl(self, *args, env=None, expect=0):
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin"),
                    "WARDEN_ADDRESS": self.server.address,
                    "WARDEN_TOKEN_FILE": self.admin_file}
        full_env.update(env or {})
        done = subprocess.run([WARDENCTL, *args], capture_output=True,
                              text=True, env=full_env, timeout=60)
        self.assertEqual(
            done.returncode, expect,
            f"wardenctl {' '.join(args)}\nstdout: {done.stdout}\n"
            f"stderr: {done.stderr}")
        return done

    # Management calls need only the CA: the bearer token authenticates.
    def test_management_over_tls(self):
        listed = self.run_ctl("--json", "tokens", "list",
                              env={"WARDEN_TLS_CA": self.ca})
        self.assertIn("tokens", json.loads(listed.stdout))
        # The certificate names localhost and 127.0.0.1 but not this name.
        self.run_ctl("--tls-ca", self.ca, "--tls-server-name", "elsewhere",
                     "tokens", "list", expect=6)
        self.run_ctl("--tls-ca", self.ca, "--tls-server-name", "localhost",
                     "tokens", "list")

    # Plaintext to a TLS port, or TLS against another CA, never gets an
    # answer; an unreadable CA file is a usage error.
    def test_refused_without_the_right_trust(self):
        self.run_ctl("tokens", "list", expect=6)
        other = os.path.join(self.tmp.name, "other")
        os.makedirs(other)
        script = os.path.join(other, "make-certs.sh")
        shutil.copy(MAKE_CERTS, script)
        subprocess.run(["sh", script], check=True, capture_output=True)
        self.run_ctl("--tls-ca", os.path.join(other, "secrets", "ca.pem"),
                     "tokens", "list", expect=6)
        missing = self.run_ctl("--tls-ca", "/nonexistent/ca.pem", "tokens",
                               "list", expect=2)
        self.assertIn("--tls-ca", missing.stderr)
        alone = self.run_ctl("--tls-ca", self.ca, "--tls-client-cert",
                             self.client_cert, "tokens", "list", expect=2)
        self.assertIn("--tls-client-key", alone.stderr)
        no_ca = self.run_ctl("--tls-client-cert", self.client_cert,
                             "--tls-client-key", self.client_key, "tokens",
                             "list", expect=2)
        self.assertIn("--tls-ca", no_ca.stderr)

    # The change stream needs the client certificate besides the
    # replication permission.
    def test_watch_needs_the_client_certificate(self):
        tls = {"WARDEN_TLS_CA": self.ca, "WARDEN_TOKEN_FILE":
               self.sidecar_file}
        refused = self.run_ctl("watch", "--from", "0", "--until", "1",
                               env=tls, expect=4)
        self.assertIn("certificate", refused.stderr)
        out = self.run_ctl("watch", "--from", "0", "--until", "1", env={
            **tls, "WARDEN_TLS_CLIENT_CERT": self.client_cert,
            "WARDEN_TLS_CLIENT_KEY": self.client_key}).stdout
        self.assertRegex(out.splitlines()[0], r"^1\s")


if __name__ == "__main__":
    unittest.main(verbosity=2)
