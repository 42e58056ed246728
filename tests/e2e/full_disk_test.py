#!/usr/bin/python3
"""Full disk test: TokenService on a disk that fills up, and on a failing
write path.

Needs root: it mounts a 32 MB tmpfs of its own in a temp dir (unmounted on
exit, whatever happens) and runs the real token_service binary with its data
directory there (its log stays off that disk).

  1. A failing write: started with WARDEN_FAILPOINTS=store.before_log=error,
     every write is refused with UNAVAILABLE "write failed, nothing
     stored", the committed revision does not move, and GetToken,
     ListServiceUserTokens and the change log read as before.
  2. A full disk: a file fills the rest of the disk, then tokens are created
     and revoked until a write fails. It must fail with UNAVAILABLE and a
     message saying the disk is full, keep failing so while it is full, and
     reads must keep working.
  3. Space comes back (the tmpfs is remounted at 128 MB): writes succeed
     again without a restart. RocksDB clears a full-disk error by itself
     once the free space reaches its write buffer size (64 MB), checking
     every few seconds; until then writes keep failing as above.
  4. The disk is filled again until a write fails, and the server is
     stopped (SIGTERM) while the write error stands: it must exit 0, not
     abort. With space back (remounted at 256 MB) a restart takes writes.
  5. The server is killed with SIGKILL and restarted: the change log is
     contiguous and every acknowledged write is in it and in the token
     states (the checks of crash_test.py).

Exits 77 (ctest SKIP_RETURN_CODE) without root or when tmpfs cannot be
mounted.
"""

import argparse
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time

if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402
import crash_test  # noqa: E402
from crash_test import Broken, Client, TOKENS  # noqa: E402

SKIP = 77
SIZE = "32m"
BIGGER_SIZE = "128m"
LAST_SIZE = "256m"
# A full disk must stop writes long before this many.
MAX_WRITES = 20000
# How long writes may take to resume once space came back.
RESUME_WAIT = 60.0


def mount(*args):
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {result.stderr.strip()}")


def unmount(path):
    if os.path.ismount(path):
        if subprocess.run(["umount", path]).returncode != 0:
            subprocess.run(["umount", "-l", path])


def fill(path):
    """Writes `path` until the disk holding it is full; returns its size."""
    block = b"\0" * (1 << 16)
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                written += os.write(fd, block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return written
                block = block[:len(block) // 2]
    finally:
        os.close(fd)


def create_and_revoke(admin, acknowledged, name):
    """One create and one revoke; records what was acknowledged. Returns the
    RpcError that stopped it, or None."""
    try:
        created = admin.call(TOKENS + "CreateServiceUserToken",
                             name=crash_test.TEST_TOKEN_PREFIX + name)
        token_id = created.token.token.id
        acknowledged.add(created.revision, "create", token_id)
        revoked = admin.call(TOKENS + "RevokeToken", token_id=token_id)
        acknowledged.add(revoked.revision, "revoke", token_id)
        return None
    except grpc.RpcError as e:
        return e


def log_head(server):
    """The committed revision, as the change log shows it."""
    sidecar = Client(server.address, server.credential("sidecar"))
    try:
        return crash_test.read_log(sidecar)[1]
    finally:
        sidecar.close()


def check_reads(server, token_id, head):
    """GetToken, ListServiceUserTokens and the change log still answer, and
    the log still ends at `head`."""
    admin = Client(server.address, server.credential("admin"))
    try:
        got = admin.call(TOKENS + "GetToken", token_id=token_id)
        if got.token.token.id != token_id:
            raise Broken(f"GetToken answered {got.token.token.id}")
        crash_test.token_states(admin)
        committed = log_head(server)
        if committed != head:
            raise Broken(f"the log moved from {head} to {committed} although "
                         f"every write failed")
    except grpc.RpcError as e:
        raise Broken(f"a read failed: {e.code().name} {e.details()}")
    finally:
        admin.close()


def expect_failure(error, what, words):
    if error is None:
        raise Broken(f"{what}: the write succeeded")
    if error.code() != grpc.StatusCode.UNAVAILABLE:
        raise Broken(f"{what}: {error.code().name} {error.details()}, want "
                     f"UNAVAILABLE")
    if not all(word in error.details() for word in words):
        raise Broken(f"{what}: message \"{error.details()}\" does not say "
                     f"{' and '.join(words)}")


def write_until_full(admin, acknowledged, label):
    """Creates and revokes tokens until a write fails; checks the failure
    says the disk is full. Returns (write pairs tried, the message)."""
    error = None
    writes = 0
    while error is None:
        if writes >= MAX_WRITES:
            raise Broken(f"{writes} writes succeeded on a full disk")
        error = create_and_revoke(admin, acknowledged, f"{label} {writes}")
        writes += 1
    expect_failure(error, f"{label}: on a full disk", ["disk", "full"])
    return writes, error.details()


def run(keep):
    work_dir = tempfile.mkdtemp(prefix="warden-full-disk-")
    disk = os.path.join(work_dir, "disk")
    os.mkdir(disk)
    server = crash_test.Server(work_dir)
    server.data = os.path.join(disk, "data")
    acknowledged = crash_test.Acknowledged()
    admin = None
    try:
        try:
            mount("-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", disk)
        except RuntimeError as e:
            print(f"SKIPPED: cannot mount a tmpfs: {e}")
            return SKIP

        # A first write to read back later.
        server.start()
        admin = Client(server.address, server.credential("admin"))
        if create_and_revoke(admin, acknowledged, "full disk first"):
            raise Broken("the first write failed")
        kept_id = acknowledged.writes[-1][2]
        head = log_head(server)
        admin.close()
        server.stop()

        # 1. Every write fails before reaching the log.
        server.start(failpoints="store.before_log=error")
        admin = Client(server.address, server.credential("admin"))
        for i in range(3):
            error = create_and_revoke(admin, acknowledged,
                                      f"full disk failpoint {i}")
            expect_failure(error, "with store.before_log=error",
                           ["write failed, nothing stored"])
        check_reads(server, kept_id, head)
        admin.close()
        server.stop()
        print(f"failing write: UNAVAILABLE \"{error.details()}\", log still "
              f"at {head}, reads answer", flush=True)

        # 2. Fill the disk, then write until a write fails.
        server.start()
        admin = Client(server.address, server.credential("admin"))
        filler = fill(os.path.join(disk, "filler"))
        writes, full_message = write_until_full(admin, acknowledged, "full")
        head = log_head(server)
        for i in range(3):
            expect_failure(create_and_revoke(admin, acknowledged,
                                             f"still full {i}"),
                           "while the disk is still full", ["disk", "full"])
        check_reads(server, kept_id, head)
        print(f"full disk: {filler >> 20} MB filler, {writes} write pairs "
              f"until UNAVAILABLE \"{full_message}\"; reads answer",
              flush=True)

        # 3. Space comes back: writes resume without a restart.
        mount("-o", f"remount,size={BIGGER_SIZE}", disk)
        deadline = time.time() + RESUME_WAIT
        attempt = 0
        while True:
            error = create_and_revoke(admin, acknowledged,
                                      f"resumed {attempt}")
            if error is None:
                break
            expect_failure(error, "after space came back", ["disk", "full"])
            if time.time() > deadline:
                raise Broken(f"writes did not resume within "
                             f"{RESUME_WAIT:.0f} s: {error.details()}")
            attempt += 1
            time.sleep(0.2)
        for i in range(10):
            if create_and_revoke(admin, acknowledged, f"after {i}"):
                raise Broken("a write failed after writes had resumed")
        admin.close()
        admin = None
        print(f"space back: writes resumed after {attempt} failed attempts",
              flush=True)

        # 4. Full again: a stop must not abort; space back, a restart takes
        # writes.
        filler = fill(os.path.join(disk, "filler-2"))
        admin = Client(server.address, server.credential("admin"))
        write_until_full(admin, acknowledged, "full again")
        admin.close()
        admin = None
        server.stop()
        if server.process.returncode != 0:
            raise Broken(f"stopped with a write failed on a full disk, "
                         f"token_service exited with "
                         f"{server.process.returncode}: {server.logs()}")
        mount("-o", f"remount,size={LAST_SIZE}", disk)
        server.start()
        admin = Client(server.address, server.credential("admin"))
        for i in range(10):
            if create_and_revoke(admin, acknowledged, f"restarted {i}"):
                raise Broken("a write failed after a restart with space")
        admin.close()
        admin = None
        print(f"full again ({filler >> 20} MB more filler): SIGTERM exits "
              f"0, a restart with space takes writes", flush=True)

        # 5. Nothing acknowledged was lost or damaged.
        server.kill()
        server.start()
        head = crash_test.check(server, acknowledged,
                                max(r for r, _, _ in acknowledged.writes))
        print(f"full disk test passed: after kill -9 and restart the log is "
              f"1..{head} contiguous with all {len(acknowledged.writes)} "
              f"acknowledged writes")
        return 0
    except Broken as e:
        keep = True
        print(f"FAILED: {e}\nserver log: {server.log_path}", file=sys.stderr)
        return 1
    finally:
        if admin is not None:
            admin.close()
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.kill()
        unmount(disk)
        if keep:
            print(f"kept {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the server log")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIPPED: needs root to mount a tmpfs")
        return SKIP
    if not os.path.exists(crash_test.TOKEN_SERVICE):
        raise SystemExit(f"{crash_test.TOKEN_SERVICE} not built")
    return run(args.keep)


if __name__ == "__main__":
    sys.exit(main())
