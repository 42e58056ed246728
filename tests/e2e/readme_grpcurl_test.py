#!/usr/bin/python3
"""Runs the README's grpcurl block against a real token_service.

Takes the fenced block marked ```sh grpcurl``` from README.md and runs its
lines in order, as a shell would, with tests/e2e/grpc_reflect.py standing
in for grpcurl (it takes the same -H, -d, ADDRESS and Service/Method
arguments). The only changes made to a line: `-plaintext` is dropped
(grpc_reflect is plaintext only), 127.0.0.1:50051 becomes the test
server's address and data/token/ its data directory. A small interpreter
covers what the block may use: VAR=value, "$VAR" expansion, $(cat FILE),
NAME=$(grpcurl ... | tee FILE | jq -r PATH) and backslash continuations;
anything else fails the test, so the README cannot drift into commands
that were never run.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grpc_reflect  # noqa: E402
from token_service_e2e_test import TokenServiceProcess  # noqa: E402

SOURCE_DIR = os.environ.get("WARDEN_SOURCE_DIR",
                            os.path.join(HERE, "..", ".."))
README = os.path.join(SOURCE_DIR, "README.md")
README_ADDRESS = "127.0.0.1:50051"
README_DATA_DIR = "data/token/"


def grpcurl_block(text):
    """The logical lines (continuations joined) of the ```sh grpcurl block."""
    match = re.search(r"^```sh grpcurl\n(.*?)^```$", text, re.M | re.S)
    if match is None:
        raise AssertionError("README.md has no ```sh grpcurl block")
    joined = re.sub(r"\\\n\s*", "", match.group(1))
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def jq_path(document, path):
    """`jq -r PATH` for the paths the README uses: .a.b and .a[N]."""
    value = document
    for name, index in re.findall(r"\.(\w+)|\[(-?\d+)\]", path):
        value = value[name] if name else value[int(index)]
    return value if isinstance(value, str) else json.dumps(value)


class ReadmeGrpcurl(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.server = TokenServiceProcess(os.path.join(self.tmp.name, "data"))
        self.server.start()
        self.variables = {}
        self.outputs = []  # (method, stdout) of every call, in order

    def tearDown(self):
        if self.server.process.poll() is None:
            self.server.stop()
        self.tmp.cleanup()

    def expand(self, text):
        """Shell expansion the block uses: $(cat FILE), then $VAR."""
        def cat(match):
            path = match.group(1).replace(README_DATA_DIR,
                                          self.server.data_dir + "/")
            with open(path) as f:
                return f.read().strip()
        text = re.sub(r"\$\(cat ([^)\s]+)\)", cat, text)

        def variable(match):
            name = match.group(1) or match.group(2)
            self.assertIn(name, self.variables, f"${name} used before set")
            return self.variables[name]
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", variable, text)

    def grpcurl(self, words, line):
        """Runs one grpcurl command line through grpc_reflect.py. Messages
        quote `line` as written, never the expanded credential."""
        self.assertEqual(words[0], "grpcurl")
        self.assertEqual(words[1], "-plaintext",
                         "real grpcurl needs -plaintext for warden")
        self.assertIn(README_ADDRESS, words)
        args = [self.server.address if w == README_ADDRESS else w
                for w in words[2:]]
        done = subprocess.run(
            ["/usr/bin/python3", os.path.join(HERE, "grpc_reflect.py"),
             *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0,
                         f"{line}\n{done.stderr}")
        self.outputs.append((args[-1], done.stdout))
        return done.stdout

    def pipeline(self, command):
        """grpcurl ... [| tee FILE] [| jq -r PATH]; returns its stdout."""
        stages = [shlex.split(self.expand(stage))
                  for stage in command.split(" | ")]
        output = self.grpcurl(stages[0], command)
        for stage in stages[1:]:
            if stage[0] == "tee" and len(stage) == 2:
                with open(os.path.join(self.tmp.name, stage[1]), "w") as f:
                    f.write(output)
            elif stage[:2] == ["jq", "-r"] and len(stage) == 3:
                output = jq_path(json.loads(output), stage[2]) + "\n"
            else:
                self.fail(f"unsupported pipeline stage: {stage}")
        return output

    def run_line(self, line):
        assignment = re.fullmatch(r"(\w+)=\$\((grpcurl .*)\)", line)
        if assignment:
            value = self.pipeline(assignment.group(2)).strip()
            self.assertTrue(value and value != "null", line)
            self.variables[assignment.group(1)] = value
            return
        assignment = re.fullmatch(r"(\w+)=(.*)", line)
        if assignment:
            words = shlex.split(self.expand(assignment.group(2)))
            self.assertEqual(len(words), 1, line)
            self.variables[assignment.group(1)] = words[0]
            return
        self.assertTrue(line.startswith("grpcurl "), f"unknown line: {line}")
        self.pipeline(line)

    def output_of(self, method):
        outputs = [out for m, out in self.outputs if m.endswith(method)]
        self.assertTrue(outputs, f"the block never calls {method}")
        return outputs[-1]

    # Every command of the README's grpcurl block succeeds, in order, and
    # leaves the state the text says it does.
    def test_readme_commands_run(self):
        with open(README) as f:
            lines = grpcurl_block(f.read())
        self.assertGreater(len(lines), 10)
        for line in lines:
            with self.subTest(line=line):
                self.run_line(line)

        # The jobs did what the comments say.
        self.assertIn("warden.token.v1.TokenService",
                      self.output_of("list"))
        self.assertIn("SERVING", self.output_of("Health/Check"))
        admin = [("authorization", "Bearer " + self.expand(
            "$(cat data/token/bootstrap-admin.token)"))]
        with self.assertRaises(grpc_reflect.CallError) as caught:
            grpc_reflect.call(self.server.address,
                              "warden.token.v1.TokenService/GetToken",
                              {"tokenId": self.variables["TOKEN_ID"]}, admin)
        self.assertEqual(caught.exception.code, "NOT_FOUND")
        with open(os.path.join(self.tmp.name, "nightly-export.json")) as f:
            self.assertTrue(json.load(f)["secret"].startswith("wdn_svc_"))
        explained = json.loads(self.output_of("AccessService/Explain"))
        self.assertTrue(explained["explanation"]["allowed"])
        user = grpc_reflect.call(
            self.server.address,
            "warden.directory.v1.DirectoryService/GetUser",
            {"userId": self.variables["USER_ID"]}, admin)["user"]
        self.assertEqual(user["status"], "USER_STATUS_DEACTIVATED")
        self.assertIn('"last": true', self.output_of("Snapshot"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
