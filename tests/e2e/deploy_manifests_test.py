#!/usr/bin/python3
"""Checks deploy/: the container images and the Kubernetes manifests.

No container engine or cluster runs here, so the checks are static but
tied to the real build:

- Dockerfiles (deploy/images): every stage is debian:bookworm-slim, the
  build stage installs tools/dev's build packages, the final stage runs as
  a numeric non-root user and copies in only the binary, and its runtime
  packages are exactly the Debian packages (dpkg -S) that own the shared
  libraries `ldd` lists for the binary in $WARDEN_BUILD_DIR.
- Manifests (deploy/kubernetes): the overlay's make-certs.sh makes the
  TLS material in a copy of deploy/, `kubectl kustomize` renders the
  example overlay, every object passes the Kubernetes OpenAPI schemas
  (tests/e2e/validate_k8s.mjs, npm kubernetes-models), and the flags,
  ports, probes and file paths (certificate mounts included) in the
  manifests are ones the binaries accept (their --help) and agree with
  each other. Both binaries then run with the rendered arguments, the
  mounted files laid out from the rendered Secrets, and the sidecar must
  reach SERVING over mutual TLS with the script's certificates.

WARDEN_KUBECTL lists the kubectl binaries to render with, separated by
colons (default: kubectl from PATH); all must render the same objects.
Debian 12's kubectl 1.20 (embedded kustomize v2.0.3) is the oldest the
manifests support.
"""

import base64
import copy
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_reflect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("WARDEN_SOURCE_DIR",
                            os.path.normpath(os.path.join(HERE, "..", "..")))
BUILD_DIR = os.environ.get("WARDEN_BUILD_DIR",
                           os.path.join(SOURCE_DIR, "build"))
DEPLOY_DIR = os.path.join(SOURCE_DIR, "deploy")
OVERLAY = os.path.join("kubernetes", "overlays", "example")
VALIDATOR = os.path.join(HERE, "validate_k8s.mjs")
KUBECTLS = [k for k in os.environ.get("WARDEN_KUBECTL", "kubectl").split(
    os.pathsep) if k]
# The git-ignored files an operator provides, relative to the overlay: the
# sidecar's credential and what make-certs.sh writes.
SIDECAR_TOKEN = os.path.join("secrets", "sidecar.token")
CERT_FILES = [os.path.join("secrets", name) for name in
              ("ca.key", "ca.pem", "sidecar.pem", "sidecar.key")] + [
    os.path.join("tokenservice", "secrets", name) for name in
    ("ca.pem", "tokenservice.pem", "tokenservice.key")]
# Flags that weaken transport security; the manifests need none of them.
CONSENT_FLAGS = ("--allow-plaintext", "--allow-plaintext-upstream",
                 "--allow-remote-callers")

# image name in the manifests -> (Dockerfile, binary).
IMAGES = {
    "warden/token-service": ("token_service.Dockerfile", "token_service"),
    "warden/authz-service": ("authz_service.Dockerfile", "authz_service"),
}
BINARIES = {
    "token_service": os.path.join(BUILD_DIR, "services", "token_service",
                                  "token_service"),
    "authz_service": os.path.join(BUILD_DIR, "services", "authz_service",
                                  "authz_service"),
}
# Packages in tools/dev's list that only developers need, not an image
# build: compiler cache, test interpreters and code generators, rocksdb's
# CLI, npm tools, kubectl, clang for the fuzzers, h2load for the load
# cross-check and ip for the network-cut test.
DEV_ONLY_PACKAGES = {"ccache", "python3", "python3-grpcio",
                     "python3-grpc-tools", "python3-protobuf",
                     "rocksdb-tools", "nodejs", "npm", "kubectl",
                     "kubernetes-client", "clang-14", "libclang-rt-14-dev",
                     "nghttp2-client", "iproute2"}
IMAGE_UID = 10001


# --- --help of the binaries -------------------------------------------------

def parse_help(binary):
    """Returns {flag: {"default": str|None, "required": bool}} of a CLI11
    --help text."""
    text = subprocess.run([binary, "--help"], check=True, text=True,
                          capture_output=True).stdout
    flags = {}
    for line in text.splitlines():
        match = re.match(r"^\s+(?:-\w,)?(--[a-z0-9-]+)(?:\s+(\S+))?"
                         r"(?:\s+(REQUIRED))?", line)
        if not match or match.group(1) == "--help":
            continue
        spec = match.group(2) or ""
        default = spec.split("=", 1)[1] if "=" in spec else None
        flags[match.group(1)] = {"default": default,
                                 "required": match.group(3) is not None}
    if not flags:
        raise AssertionError(f"no flags parsed from {binary} --help")
    return flags


def parse_args(args):
    """["--a=b", ...] -> {"--a": "b"}; every argument must be --flag=value."""
    parsed = {}
    for arg in args:
        if not re.match(r"^--[a-z0-9-]+=", arg):
            raise AssertionError(f"argument {arg!r} is not --flag=value")
        flag, value = arg.split("=", 1)
        if flag in parsed:
            raise AssertionError(f"flag {flag} given twice")
        parsed[flag] = value
    return parsed


def port_of(address):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise AssertionError(f"{address!r} is not host:port")
    return host, int(port)


# --- Dockerfiles -------------------------------------------------------------

def dockerfile_instructions(path):
    """Returns [(INSTRUCTION, arguments)] with continuation lines joined
    and comments dropped."""
    instructions, pending = [], ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or
                                line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), rest.strip()))
    if pending:
        raise AssertionError(f"{path}: dangling line continuation")
    return instructions


def stages(instructions):
    """Splits instructions at FROM: [(from_args, [instructions...])]."""
    result = []
    for word, rest in instructions:
        if word == "FROM":
            result.append((rest, []))
        elif not result:
            if word != "ARG":
                raise AssertionError(f"{word} before the first FROM")
        else:
            result[-1][1].append((word, rest))
    return result


def apt_installed(stage_instructions):
    """Package names passed to `apt-get install` in the stage's RUNs."""
    packages = []
    for word, rest in stage_instructions:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            tokens = shlex.split(command)
            if "apt-get" in tokens and "install" in tokens:
                after = tokens[tokens.index("install") + 1:]
                packages += [t for t in after if not t.startswith("-")]
    return packages


def path_aliases(path):
    """The names a library may have in dpkg's database (usrmerge)."""
    aliases = []
    for candidate in (path, os.path.realpath(path)):
        if candidate.startswith("/usr/"):
            aliases += [candidate, candidate[len("/usr"):]]
        else:
            aliases += [candidate, "/usr" + candidate]
    return aliases


def runtime_packages(binary):
    """{package: [libraries]} for the shared libraries ldd lists."""
    output = subprocess.run(["ldd", binary], check=True, text=True,
                            capture_output=True).stdout
    libraries = []
    for line in output.splitlines():
        line = line.strip()
        if "=>" in line:
            target = line.split("=>", 1)[1].split("(")[0].strip()
            if target == "not found" or not target:
                raise AssertionError(f"ldd: {line}")
        elif line.startswith("/"):
            target = line.split("(")[0].strip()  # the dynamic loader
        else:
            continue  # linux-vdso: provided by the kernel
        libraries.append(target)
    if not libraries:
        raise AssertionError(f"ldd lists no libraries for {binary}")

    # One dpkg -S for all names (each call reads the whole database); it
    # exits 1 when some alias is unknown, which is expected.
    aliases = sorted({a for lib in libraries for a in path_aliases(lib)})
    result = subprocess.run(["dpkg", "-S"] + aliases, text=True,
                            capture_output=True)
    owner_of = {}
    for line in result.stdout.splitlines():
        packages, _, path = line.partition(": ")
        package = packages.split(",")[0].split(":")[0].strip()
        owner_of[path.strip()] = package
    owners = {}
    for lib in libraries:
        found = [owner_of[a] for a in path_aliases(lib) if a in owner_of]
        if not found:
            raise AssertionError(f"no Debian package owns {lib}")
        owners.setdefault(found[0], []).append(lib)
    return owners


def tools_dev_packages():
    with open(os.path.join(SOURCE_DIR, "tools", "dev"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^APT_PACKAGES=\((.*?)^\)", text, re.S | re.M)
    if not match:
        raise AssertionError("tools/dev has no APT_PACKAGES=( ... )")
    return set(match.group(1).split())


class DockerfileTest(unittest.TestCase):

    def check_image(self, dockerfile, binary_name):
        path = os.path.join(DEPLOY_DIR, "images", dockerfile)
        parsed = stages(dockerfile_instructions(path))
        self.assertGreaterEqual(len(parsed), 2, "expected a multi-stage build")
        stage_names = set()
        for from_args, _ in parsed:
            tokens = from_args.split()
            self.assertEqual(tokens[0], "debian:bookworm-slim", from_args)
            if len(tokens) == 3 and tokens[1].upper() == "AS":
                stage_names.add(tokens[2])
            else:
                self.assertEqual(len(tokens), 1, from_args)

        # Build stage(s): the packages tools/dev builds with, and the target.
        build_packages = set()
        for _, body in parsed[:-1]:
            build_packages |= set(apt_installed(body))
        missing = (tools_dev_packages() - DEV_ONLY_PACKAGES) - build_packages
        self.assertFalse(missing, f"{dockerfile}: the build stage lacks "
                                  f"tools/dev packages {sorted(missing)}")
        build_runs = " ".join(rest for _, body in parsed[:-1]
                              for word, rest in body if word == "RUN")
        self.assertIn(f"--target {binary_name}", build_runs)

        # Final stage: non-root numeric user, only the binary copied in.
        _, final = parsed[-1]
        words = [word for word, _ in final]
        self.assertNotIn("ADD", words, "the final stage must not ADD files")
        users = [rest for word, rest in final if word == "USER"]
        self.assertTrue(users, f"{dockerfile}: the final stage sets no USER")
        uid, _, gid = users[-1].partition(":")
        self.assertTrue(uid.isdigit() and int(uid) != 0,
                        f"USER {users[-1]} is not a numeric non-root UID")
        self.assertEqual(int(uid), IMAGE_UID)
        if gid:
            self.assertTrue(gid.isdigit() and int(gid) != 0, users[-1])
        copies = [rest for word, rest in final if word == "COPY"]
        self.assertEqual(len(copies), 1, f"final stage COPYs: {copies}")
        tokens = copies[0].split()
        from_flags = [t for t in tokens if t.startswith("--from=")]
        self.assertEqual(len(from_flags), 1, copies[0])
        self.assertIn(from_flags[0][len("--from="):], stage_names)
        sources = [t for t in tokens[:-1] if not t.startswith("--")]
        self.assertEqual(len(sources), 1, copies[0])
        self.assertEqual(os.path.basename(sources[0]), binary_name)
        destination = tokens[-1]
        entrypoints = [rest for word, rest in final if word == "ENTRYPOINT"]
        self.assertEqual(len(entrypoints), 1)
        self.assertEqual(json.loads(entrypoints[0]), [destination])

        # The runtime packages are exactly those owning ldd's libraries.
        binary = BINARIES[binary_name]
        self.assertTrue(os.access(binary, os.X_OK), f"{binary} not built")
        needed = runtime_packages(binary)
        listed = apt_installed(final)
        self.assertEqual(len(listed), len(set(listed)), "duplicate package")
        # A sanitizer build (tools/dev test --sanitize=...) loads the
        # sanitizer runtimes and, built with other flags, pulls other parts
        # of static libraries (RocksDB's gflags use); the image holds a
        # release build, so only the normal tree's binary is compared.
        if not any(re.match(r"^lib(asan|ubsan|tsan)\d+$", package)
                   for package in needed):
            self.check_runtime_packages(dockerfile, needed, listed)

        # CMD and EXPOSE agree with the binary's flags.
        self.check_command_line(final, binary)

    def check_runtime_packages(self, dockerfile, needed, listed):
        missing = sorted(set(needed) - set(listed))
        self.assertFalse(missing, f"{dockerfile}: the final stage lacks "
                         + ", ".join(f"{p} (for {needed[p]})"
                                     for p in missing))
        unneeded = sorted(set(listed) - set(needed))
        self.assertFalse(unneeded, f"{dockerfile}: the final stage installs "
                                   f"packages the binary does not load: "
                                   f"{unneeded}")

    def check_command_line(self, final, binary):
        flags = parse_help(binary)
        cmds = [rest for word, rest in final if word == "CMD"]
        cmd_args = parse_args(json.loads(cmds[-1])) if cmds else {}
        for flag in cmd_args:
            self.assertIn(flag, flags, f"CMD passes unknown flag {flag}")
        listen = cmd_args.get("--listen", flags["--listen"]["default"])
        exposed = [rest for word, rest in final if word == "EXPOSE"]
        self.assertEqual(exposed, [str(port_of(listen)[1])])

    def test_token_service_image(self):
        self.check_image("token_service.Dockerfile", "token_service")

    def test_authz_service_image(self):
        self.check_image("authz_service.Dockerfile", "authz_service")

    def test_dockerignore_keeps_only_sources(self):
        with open(os.path.join(SOURCE_DIR, ".dockerignore"),
                  encoding="utf-8") as f:
            lines = [line.strip() for line in f
                     if line.strip() and not line.startswith("#")]
        self.assertEqual(lines[0], "*", "start by excluding everything")
        included = {line[1:].rstrip("/") for line in lines if
                    line.startswith("!")}
        # Everything the top-level CMakeLists.txt needs is in the context.
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"),
                  encoding="utf-8") as f:
            subdirs = re.findall(r"^add_subdirectory\((\S+)\)", f.read(),
                                 re.M)
        self.assertTrue(subdirs)
        for needed in ["CMakeLists.txt"] + subdirs:
            self.assertIn(needed, included)
        for secret_or_bulk in ("deploy", "build", "node_modules", "data"):
            self.assertNotIn(secret_or_bulk, included)


# --- Kubernetes manifests ----------------------------------------------------

def render(deploy_copy, subdir="", kubectl=None):
    return subprocess.run(
        [kubectl or KUBECTLS[0], "kustomize",
         os.path.join(deploy_copy, OVERLAY, subdir)],
        text=True, capture_output=True)


def comparable(objects):
    """Rendered objects with what differs between kustomize versions
    evened out: generated names' hash suffixes, and line breaks inside
    base64 data."""
    generated = {}
    for o in objects:
        if o["kind"] in ("Secret", "ConfigMap"):
            name = o["metadata"]["name"]
            generated[name] = re.sub(r"-[a-z0-9]{10}$", "-HASH", name)
    text = json.dumps(objects, sort_keys=True)
    for name, even in generated.items():
        text = text.replace(f'"{name}"', f'"{even}"')
    result = json.loads(text)
    for o in result:
        if o["kind"] == "Secret":
            o["data"] = {k: re.sub(r"\s", "", v)
                         for k, v in o.get("data", {}).items()}
    return sorted(result, key=lambda o: (o["kind"], o["metadata"]["name"]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, stdin=None):
    return subprocess.run(["openssl"] + list(args), input=stdin, text=True,
                          capture_output=True)


def containers_of(workload):
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class ManifestTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in KUBECTLS + ["node", "openssl"]:
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is not installed; run "
                                     "tools/dev setup")
        cls.tmp = tempfile.mkdtemp(prefix="warden-deploy-")
        cls.deploy = os.path.join(cls.tmp, "deploy")
        # A copy without the operator's files, should the checkout have any.
        shutil.copytree(DEPLOY_DIR, cls.deploy, ignore=shutil.ignore_patterns(
            "sidecar.token", "*.pem", "*.key", "*.srl"))
        overlay = os.path.join(cls.deploy, OVERLAY)
        # Rendering without the secret files must fail...
        cls.without_certificates = render(cls.deploy, "tokenservice")
        # ...TokenService alone needs only the certificates (the first
        # start makes the sidecar credential)...
        cls.make_certs = subprocess.run(
            [os.path.join(overlay, "make-certs.sh"), "warden", "30"],
            text=True, capture_output=True)
        if cls.make_certs.returncode != 0:
            raise AssertionError("make-certs.sh failed:\n"
                                 + cls.make_certs.stderr)
        cls.without_credential = render(cls.deploy)
        cls.tokenservice_alone = render(cls.deploy, "tokenservice")
        # ...and the whole overlay also the credential.
        cls.sidecar_token = "wst_" + os.urandom(16).hex()
        with open(os.path.join(overlay, SIDECAR_TOKEN), "w") as f:
            f.write(cls.sidecar_token)
        cls.renders = {}
        for kubectl in KUBECTLS:
            rendered = render(cls.deploy, kubectl=kubectl)
            if rendered.returncode != 0:
                raise AssertionError(f"{kubectl} kustomize failed:\n"
                                     + rendered.stderr)
            cls.renders[kubectl] = [
                o for o in yaml.safe_load_all(rendered.stdout) if o]
        cls.objects = cls.renders[KUBECTLS[0]]
        cls.flags = {name: parse_help(path)
                     for name, path in BINARIES.items()}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def find(self, kind, name=None):
        found = [o for o in self.objects if o["kind"] == kind and
                 (name is None or o["metadata"]["name"] == name)]
        self.assertTrue(found, f"no {kind} {name or ''} rendered")
        return found

    def warden_containers(self):
        """[(workload, container, binary name)] for warden's images."""
        result = []
        for kind in ("StatefulSet", "Deployment"):
            for workload in (o for o in self.objects if o["kind"] == kind):
                for container in containers_of(workload):
                    for image, (_, binary) in IMAGES.items():
                        if container["image"].split(":")[0].endswith(image):
                            result.append((workload, container, binary))
        return result

    def volume_source(self, workload, container, path):
        """(volume, mountPath) of the mount that holds file `path`."""
        pod = workload["spec"]["template"]["spec"]
        for mount in container.get("volumeMounts", []):
            prefix = mount["mountPath"].rstrip("/") + "/"
            if path == mount["mountPath"] or path.startswith(prefix):
                volumes = [v for v in pod.get("volumes", [])
                           if v["name"] == mount["name"]]
                claims = [c for c in workload["spec"].get(
                    "volumeClaimTemplates", [])
                    if c["metadata"]["name"] == mount["name"]]
                self.assertTrue(volumes or claims,
                                f"mount {mount['name']} has no volume")
                return (volumes or claims)[0], mount["mountPath"]
        self.fail(f"{container['name']}: nothing is mounted at {path}")

    def test_every_kubectl_renders_the_same_objects(self):
        first = comparable(self.objects)
        for kubectl, objects in self.renders.items():
            self.assertEqual(comparable(objects), first,
                             f"{kubectl} renders other objects than "
                             f"{KUBECTLS[0]}")

    def test_secret_files_are_required_and_not_committed(self):
        self.assertNotEqual(self.without_certificates.returncode, 0)
        self.assertIn("tokenservice.pem", self.without_certificates.stderr)
        self.assertNotEqual(self.without_credential.returncode, 0)
        self.assertIn("sidecar.token", self.without_credential.stderr)
        for secrets in ("secrets", os.path.join("tokenservice", "secrets")):
            path = os.path.join("deploy", OVERLAY, secrets)
            tracked = subprocess.run(
                ["git", "-C", SOURCE_DIR, "ls-files", "--", path],
                check=True, text=True, capture_output=True).stdout.split()
            self.assertEqual(tracked, [os.path.join(path, ".gitignore")])
        # Every file the operator or make-certs.sh puts there is ignored.
        made = sorted(os.path.relpath(os.path.join(root, name),
                                      os.path.join(self.deploy, OVERLAY))
                      for root, _, names in os.walk(
                          os.path.join(self.deploy, OVERLAY))
                      for name in names if root.endswith("secrets")
                      and name != ".gitignore")
        self.assertEqual(made, sorted(CERT_FILES + [SIDECAR_TOKEN]))
        ignored = subprocess.run(
            ["git", "-C", SOURCE_DIR, "check-ignore", "--no-index", "--"]
            + [os.path.join("deploy", OVERLAY, f) for f in made],
            text=True, capture_output=True).stdout.split()
        self.assertEqual(len(ignored), len(made), ignored)
        names = sorted(re.sub(r"-[a-z0-9]{10}$", "", s["metadata"]["name"])
                       for s in self.find("Secret"))
        self.assertEqual(names, ["tokenservice-tls",
                                 "warden-sidecar-credential",
                                 "warden-sidecar-tls"])
        # The CA's key is in no Secret.
        with open(os.path.join(self.deploy, OVERLAY, "secrets",
                               "ca.key")) as f:
            ca_key = f.read().strip()
        for secret in self.find("Secret"):
            for value in secret["data"].values():
                self.assertNotIn(ca_key, base64.b64decode(value).decode())

    def test_token_service_renders_alone_without_credential(self):
        self.assertEqual(self.tokenservice_alone.returncode, 0,
                         self.tokenservice_alone.stderr)
        alone = [o for o in yaml.safe_load_all(
            self.tokenservice_alone.stdout) if o]
        self.assertEqual([o["metadata"]["name"][:len("tokenservice-tls")]
                          for o in alone if o["kind"] == "Secret"],
                         ["tokenservice-tls"])
        # The same objects as in the full overlay, so applying the full
        # overlay later changes nothing of TokenService.
        for o in alone:
            self.assertIn(o, self.objects,
                          f"{o['kind']}/{o['metadata']['name']} differs")
        self.assertTrue(any(o["kind"] == "StatefulSet" for o in alone))

    def test_objects_pass_the_kubernetes_schemas(self):
        path = os.path.join(self.tmp, "objects.json")
        with open(path, "w") as f:
            json.dump(self.objects, f)
        result = subprocess.run(["node", VALIDATOR, path], text=True,
                                capture_output=True)
        self.assertEqual(result.returncode, 0,
                         result.stdout + result.stderr)
        valid = [line for line in result.stdout.splitlines()
                 if line.startswith("valid ")]
        self.assertEqual(len(valid), len(self.objects), result.stdout)

        # The validator rejects what the API server would reject, and
        # fields it would silently drop.
        sts = self.find("StatefulSet", "tokenservice")[0]
        wrong_type = copy.deepcopy(sts)
        wrong_type["spec"]["template"]["spec"]["containers"][0][
            "readinessProbe"]["grpc"]["port"] = "fifty"
        misspelt = copy.deepcopy(sts)
        container = misspelt["spec"]["template"]["spec"]["containers"][0]
        container["readinesProbe"] = container.pop("readinessProbe")
        misspelt_deep = copy.deepcopy(sts)
        misspelt_deep["spec"]["volumeClaimTemplates"][0]["spec"][
            "accesModes"] = ["ReadWriteOnce"]
        unknown_kind = {"apiVersion": "apps/v1", "kind": "Deploymnet",
                        "metadata": {"name": "x"}}
        for bad in (wrong_type, misspelt, misspelt_deep, unknown_kind):
            with open(path, "w") as f:
                json.dump([bad], f)
            result = subprocess.run(["node", VALIDATOR, path], text=True,
                                    capture_output=True)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn("INVALID", result.stdout)

    def test_everything_is_namespaced_and_images_are_pinned(self):
        for o in self.objects:
            if o["kind"] != "Namespace":
                self.assertEqual(o["metadata"].get("namespace"), "warden",
                                 f"{o['kind']}/{o['metadata']['name']}")
        self.assertEqual(len(self.warden_containers()), 2)
        for _, container, _ in self.warden_containers():
            self.assertRegex(container["image"], r":[0-9][\w.-]*$")

    def test_flags_ports_and_probes_match_the_binaries(self):
        for workload, container, binary in self.warden_containers():
            where = f"{workload['metadata']['name']}/{container['name']}"
            flags = self.flags[binary]
            self.assertNotIn("command", container,
                             f"{where}: use the image's ENTRYPOINT")
            args = parse_args(container["args"])
            for flag in args:
                self.assertIn(flag, flags, f"{where}: {binary} has no {flag}")
            for flag, spec in flags.items():
                if spec["required"]:
                    self.assertIn(flag, args, f"{where}: {flag} is required")
            for flag in ("--log-format", "--log-level"):
                self.assertIn(flag, args, where)
            self.assertEqual(args["--log-format"], "json")
            for flag in CONSENT_FLAGS:
                self.assertNotIn(flag, args, f"{where}: TLS needs no {flag}")

            # Probes dial the health port on the pod IP: plaintext gRPC
            # (the kubelet's probes cannot speak TLS) serving only health.
            health_host, health_port = port_of(args["--health-listen"])
            self.assertEqual(health_host, "0.0.0.0",
                             f"{where}: probes dial the pod IP")
            # The container lists exactly the ports others reach on the pod
            # IP, in the order of these flags; a loopback listener is not
            # one of them.
            expected = []
            for flag in ("--listen", "--health-listen", "--metrics-listen"):
                address = args.get(flag, flags[flag]["default"])
                if not address:
                    continue
                host, port = port_of(address)
                self.assertIn(host, ("0.0.0.0", "127.0.0.1"),
                              f"{where}: {flag}")
                if host == "0.0.0.0":
                    expected.append(port)
            ports = container["ports"]
            self.assertEqual([p["containerPort"] for p in ports], expected,
                             where)
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                self.assertIsNotNone(probe, f"{where}: no {kind}")
                action = probe.get("grpc") or probe.get("tcpSocket")
                self.assertIsNotNone(action, f"{where}: {kind}")
                self.assertEqual(action["port"], health_port,
                                 f"{where}: {kind}")
            # Readiness is gRPC health (grpc.health.v1), never just TCP.
            self.assertIn("grpc", container["readinessProbe"])
            self.assertNotIn("service", container["readinessProbe"]["grpc"])

    def test_token_service_statefulset(self):
        sts = self.find("StatefulSet", "tokenservice")[0]
        self.assertEqual(sts["spec"]["replicas"], 1, "one RocksDB writer")
        pod = sts["spec"]["template"]["spec"]
        container = pod["containers"][0]
        args = parse_args(container["args"])
        flags = self.flags["token_service"]

        for kind in ("readinessProbe", "livenessProbe"):
            self.assertIn("grpc", container[kind], kind)

        # The data directory is the PVC template's volume.
        volume, mount_path = self.volume_source(sts, container,
                                                args["--data-dir"])
        self.assertEqual(mount_path, args["--data-dir"])
        self.assertIn("ReadWriteOnce", volume["spec"]["accessModes"])
        self.assertEqual(pod["securityContext"].get("fsGroup"), IMAGE_UID)

        # The catalog file is the ConfigMap of deploy/config.
        catalog = args["--permission-catalog"]
        volume, mount_path = self.volume_source(sts, container, catalog)
        config_map = self.find("ConfigMap",
                               volume["configMap"]["name"])[0]
        key = os.path.relpath(catalog, mount_path)
        with open(os.path.join(DEPLOY_DIR, "config",
                               "permission_catalog.json")) as f:
            self.assertEqual(json.loads(config_map["data"][key]),
                             json.load(f))

        grace = int(args.get("--shutdown-grace-seconds",
                             flags["--shutdown-grace-seconds"]["default"]))
        self.assertGreater(pod["terminationGracePeriodSeconds"], grace)
        for flag in ("--bootstrap-org-name", "--bootstrap-admin-email",
                     "--bootstrap-admin-name"):
            self.assertIn(flag, args)

        # Headless Service for the StatefulSet, ClusterIP for clients.
        host, port = port_of(args["--listen"])
        self.assertEqual(host, "0.0.0.0", "sidecars dial the pod")
        labels = sts["spec"]["template"]["metadata"]["labels"]
        headless = self.find("Service", sts["spec"]["serviceName"])[0]
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        for service in (headless, self.find("Service", "tokenservice")[0]):
            self.assertTrue(labels_match(service["spec"]["selector"], labels))
            target = service["spec"]["ports"][0]["targetPort"]
            named = {p["name"]: p["containerPort"]
                     for p in container["ports"]}
            self.assertEqual(named.get(target, target), port)

    def test_security_context_of_every_pod(self):
        for kind in ("StatefulSet", "Deployment"):
            for workload in (o for o in self.objects if o["kind"] == kind):
                pod = workload["spec"]["template"]["spec"]
                self.assertFalse(pod.get("automountServiceAccountToken",
                                         True))
                for container in containers_of(workload):
                    where = f"{workload['metadata']['name']}/" \
                            f"{container['name']}"
                    sc = dict(pod.get("securityContext", {}))
                    sc.update(container.get("securityContext", {}))
                    self.assertIs(sc.get("runAsNonRoot"), True, where)
                    self.assertEqual(sc.get("runAsUser"), IMAGE_UID, where)
                    self.assertIs(sc.get("readOnlyRootFilesystem"), True,
                                  where)
                    self.assertIs(sc.get("allowPrivilegeEscalation"), False,
                                  where)
                    self.assertEqual(sc.get("capabilities", {}).get("drop"),
                                     ["ALL"], where)
                    self.assertNotIn("add", sc.get("capabilities", {}))
                    self.assertEqual(sc.get("seccompProfile", {}).get(
                        "type"), "RuntimeDefault", where)
                    for bound in ("requests", "limits"):
                        resources = container.get("resources", {})
                        for resource in ("cpu", "memory"):
                            self.assertIn(resource,
                                          resources.get(bound, {}),
                                          f"{where}: {bound}.{resource}")

    def test_authz_sidecar(self):
        sidecars = [(w, c) for w, c, b in self.warden_containers()
                    if b == "authz_service"]
        self.assertEqual(len(sidecars), 1)
        deployment, sidecar = sidecars[0]
        pod = deployment["spec"]["template"]
        args = parse_args(sidecar["args"])
        authz_host, authz_port = port_of(args["--listen"])
        # Plaintext and without credentials: loopback only, which the
        # sidecar accepts without a consent flag.
        self.assertEqual(authz_host, "127.0.0.1")

        # A native sidecar: started before, stopped after the application.
        self.assertIn(sidecar, pod["spec"].get("initContainers", []))
        self.assertEqual(sidecar.get("restartPolicy"), "Always")

        # --token-service names the ClusterIP Service and its port.
        host, port = port_of(args["--token-service"])
        service = self.find("Service", host)[0]
        self.assertNotEqual(service["spec"].get("clusterIP"), "None")
        self.assertIn(port, [p["port"] for p in service["spec"]["ports"]])

        # --credential-file is a key of the mounted credential Secret.
        credential = args["--credential-file"]
        volume, mount_path = self.volume_source(deployment, sidecar,
                                                credential)
        secret = self.find("Secret", volume["secret"]["secretName"])[0]
        key = os.path.relpath(credential, mount_path)
        self.assertEqual(base64.b64decode(secret["data"][key]).decode(),
                         self.sidecar_token)
        self.assertEqual(volume["secret"]["defaultMode"] & 0o007, 0,
                         "the credential must not be world-readable")
        self.assertEqual(pod["spec"]["securityContext"].get("fsGroup"),
                         IMAGE_UID, "the sidecar's group reads the Secret")

        # The application reaches the sidecar on localhost.
        app = [c for c in pod["spec"]["containers"]]
        env = {e["name"]: e.get("value") for c in app
               for e in c.get("env", [])}
        self.assertEqual(env.get("WARDEN_AUTHZ_ADDRESS"),
                         f"127.0.0.1:{authz_port}")

        # The sidecar's port is not reachable from other pods: the pod's
        # NetworkPolicy admits only the application's ports.
        policies = [p for p in self.find("NetworkPolicy") if labels_match(
            p["spec"]["podSelector"].get("matchLabels", {}),
            pod["metadata"]["labels"])]
        self.assertEqual(len(policies), 1)
        self.assertIn("Ingress", policies[0]["spec"]["policyTypes"])
        app_ports = {p["containerPort"] for c in app for p in c["ports"]}
        for rule in policies[0]["spec"].get("ingress", []):
            self.assertIn("ports", rule)
            for p in rule["ports"]:
                self.assertIn(p["port"], app_ports)
                self.assertNotEqual(p["port"], authz_port)
                self.assertNotEqual(
                    p["port"], port_of(args["--health-listen"])[1])

        # A PodDisruptionBudget covers the application's pods.
        budgets = [b for b in self.find("PodDisruptionBudget")
                   if labels_match(b["spec"]["selector"]["matchLabels"],
                                   pod["metadata"]["labels"])]
        self.assertEqual(len(budgets), 1)
        self.assertGreaterEqual(deployment["spec"]["replicas"],
                                budgets[0]["spec"]["minAvailable"] + 1)

    def test_token_service_network_policy(self):
        sts = self.find("StatefulSet", "tokenservice")[0]
        labels = sts["spec"]["template"]["metadata"]["labels"]
        _, port = port_of(parse_args(
            sts["spec"]["template"]["spec"]["containers"][0]["args"])
            ["--listen"])
        policies = [p for p in self.find("NetworkPolicy") if labels_match(
            p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        self.assertEqual(len(policies), 1)
        spec = policies[0]["spec"]
        self.assertEqual(spec["policyTypes"], ["Ingress"])
        admitted = []
        for rule in spec["ingress"]:
            self.assertEqual([p["port"] for p in rule["ports"]], [port])
            for peer in rule["from"]:
                self.assertEqual(set(peer), {"podSelector"},
                                 "peers are pods of this namespace only")
                admitted.append(peer["podSelector"]["matchLabels"])
        self.assertCountEqual(admitted, [
            {"warden.io/role": "authz-sidecar"},
            {"warden.io/role": "admin"}])
        # Every pod running a sidecar carries the admitted label.
        for workload, _, binary in self.warden_containers():
            if binary == "authz_service":
                self.assertEqual(workload["spec"]["template"]["metadata"][
                    "labels"].get("warden.io/role"), "authz-sidecar")

    def mounted_file(self, workload, container, path):
        """The content of file `path` as the pod sees it: a key of the
        Secret or ConfigMap mounted there."""
        volume, mount_path = self.volume_source(workload, container, path)
        key = os.path.relpath(path, mount_path)
        if "secret" in volume:
            data = self.find("Secret", volume["secret"]["secretName"])[0][
                "data"]
            self.assertIn(key, data, f"{path}: the Secret has no {key}")
            return base64.b64decode(data[key]).decode()
        self.assertIn("configMap", volume, f"{path}: not from a volume")
        data = self.find("ConfigMap", volume["configMap"]["name"])[0]["data"]
        self.assertIn(key, data, f"{path}: the ConfigMap has no {key}")
        return data[key]

    def write_temp(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(content)
        return path

    def test_mutual_tls_material(self):
        sts = self.find("StatefulSet", "tokenservice")[0]
        server = sts["spec"]["template"]["spec"]["containers"][0]
        server_args = parse_args(server["args"])
        (deployment, sidecar), = [(w, c) for w, c, b in
                                  self.warden_containers()
                                  if b == "authz_service"]
        sidecar_args = parse_args(sidecar["args"])
        files = {}
        for workload, container, args, flags in (
                (sts, server, server_args,
                 ("--tls-cert", "--tls-key", "--tls-client-ca")),
                (deployment, sidecar, sidecar_args,
                 ("--tls-ca", "--tls-client-cert", "--tls-client-key"))):
            for flag in flags:
                self.assertIn(flag, args)
                files[flag] = self.write_temp(
                    flag.strip("-") + ".pem",
                    self.mounted_file(workload, container, args[flag]))
                volume, _ = self.volume_source(workload, container,
                                               args[flag])
                self.assertIn("secret", volume, f"{flag} is not a Secret")
                self.assertEqual(volume["secret"]["defaultMode"] & 0o007, 0,
                                 f"{flag}: keys must not be world-readable")
            # Whole-Secret mounts only: a subPath mount never sees a
            # rotated Secret, so reloading would find nothing new.
            for mount in container["volumeMounts"]:
                self.assertNotIn("subPath", mount)

        # TokenService's certificate chains to the CA the sidecar trusts,
        # is for servers, names the host the sidecar dials and matches its
        # key; the sidecar's certificate chains to the client CA and is for
        # clients.
        checks = [
            ("--tls-ca", "--tls-cert", "sslserver"),
            ("--tls-client-ca", "--tls-client-cert", "sslclient")]
        for ca, cert, purpose in checks:
            verified = openssl("verify", "-purpose", purpose, "-CAfile",
                               files[ca], files[cert])
            self.assertEqual(verified.returncode, 0,
                             f"{cert} vs {ca}: " + verified.stdout
                             + verified.stderr)
        wrong = openssl("verify", "-purpose", "sslclient", "-CAfile",
                        files["--tls-client-ca"], files["--tls-cert"])
        self.assertNotEqual(wrong.returncode, 0,
                            "the server certificate must not be a client's")
        for cert, key in (("--tls-cert", "--tls-key"),
                          ("--tls-client-cert", "--tls-client-key")):
            from_cert = openssl("x509", "-noout", "-pubkey", "-in",
                                files[cert])
            from_key = openssl("pkey", "-pubout", "-in", files[key])
            self.assertEqual(from_cert.returncode, 0, from_cert.stderr)
            self.assertEqual(from_cert.stdout, from_key.stdout,
                             f"{key} is not the key of {cert}")
        names = openssl("x509", "-noout", "-ext", "subjectAltName", "-in",
                        files["--tls-cert"]).stdout
        host, _ = port_of(sidecar_args["--token-service"])
        self.assertRegex(names, rf"DNS:{re.escape(host)}(,|$|\s)")
        self.assertIn("DNS:localhost", names, "for the run test below")

    def lay_out_pod_files(self, workload, container, root):
        """Writes the container's Secret and ConfigMap mounts under root,
        and returns its arguments with mount paths and listen addresses
        moved there and to free loopback ports."""
        pod = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = []
        for mount in container.get("volumeMounts", []):
            target = root + mount["mountPath"]
            os.makedirs(target, exist_ok=True)
            mounts.append(mount["mountPath"])
            volume = volumes.get(mount["name"])
            if volume is None:
                continue  # the data volume's claim: an empty directory
            if "secret" in volume:
                data = {k: base64.b64decode(v).decode() for k, v in
                        self.find("Secret", volume["secret"]["secretName"])[
                            0]["data"].items()}
            else:
                data = self.find("ConfigMap",
                                 volume["configMap"]["name"])[0]["data"]
            for key, value in data.items():
                with open(os.path.join(target, key), "w") as f:
                    f.write(value)
        args = parse_args(container["args"])
        ports = {}
        for flag, value in args.items():
            if any(value == m or value.startswith(m + "/") for m in mounts):
                args[flag] = root + value
            elif value.startswith("0.0.0.0:") or value.startswith(
                    "127.0.0.1:"):
                ports[flag] = free_port()
                args[flag] = f"127.0.0.1:{ports[flag]}"
        return args, ports

    def start_serving(self, binary, args, ports):
        """Starts `binary` with `args` ({flag: value}), logging to a file
        in the test's directory, and waits until its health port serves."""
        log_path = os.path.join(self.tmp, f"{binary}.log")
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [BINARIES[binary]] + [f"{k}={v}" for k, v in args.items()],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_serving(f"127.0.0.1:{ports['--health-listen']}",
                              process, log_path)
        except BaseException:
            process.kill()
            process.wait()
            raise
        return process

    def wait_serving(self, address, process, log_path):
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = grpc_reflect.health(address)
                if status == "SERVING":
                    return
            except grpc_reflect.CallError:
                pass
            time.sleep(0.2)
        with open(log_path) as f:
            self.fail(f"{address} not SERVING (last {status}, exit "
                      f"{process.poll()}):\n{f.read()[-3000:]}")

    def test_binaries_run_with_the_rendered_arguments(self):
        """TokenService and the sidecar start with exactly the rendered
        arguments (files from the rendered Secrets and ConfigMap at the
        mounted paths, moved under a temp root; ports on loopback), and the
        sidecar follows TokenService over mutual TLS with make-certs.sh's
        certificates until it reports SERVING on its health port."""
        root = os.path.join(self.tmp, "run")
        sts = self.find("StatefulSet", "tokenservice")[0]
        server = sts["spec"]["template"]["spec"]["containers"][0]
        server_args, server_ports = self.lay_out_pod_files(sts, server, root)
        (deployment, sidecar), = [(w, c) for w, c, b in
                                  self.warden_containers()
                                  if b == "authz_service"]
        sidecar_root = os.path.join(self.tmp, "run-sidecar")
        sidecar_args, sidecar_ports = self.lay_out_pod_files(
            deployment, sidecar, sidecar_root)
        processes = []
        try:
            processes.append(self.start_serving(
                "token_service", server_args, server_ports))
            # The gRPC port itself speaks only TLS.
            with self.assertRaises(grpc_reflect.CallError):
                grpc_reflect.health(
                    f"127.0.0.1:{server_ports['--listen']}")

            # The sidecar's credential: the first start's bootstrap token
            # (the README's step 2), in place of the test's stand-in.
            with open(os.path.join(server_args["--data-dir"],
                                   "bootstrap-sidecar.token")) as f:
                token = f.read()
            with open(sidecar_args["--credential-file"], "w") as f:
                f.write(token)
            _, port = port_of(parse_args(sidecar["args"])["--token-service"])
            self.assertEqual(port, port_of(parse_args(server["args"])[
                "--listen"])[1])
            # The certificate names localhost too, so only the port moves.
            sidecar_args["--token-service"] = \
                f"localhost:{server_ports['--listen']}"
            processes.append(self.start_serving(
                "authz_service", sidecar_args, sidecar_ports))
            # The decision port answers on loopback, in plaintext.
            self.assertEqual(grpc_reflect.health(
                f"127.0.0.1:{sidecar_ports['--listen']}"), "SERVING")
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
