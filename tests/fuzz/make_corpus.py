#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Seeds are a few valid inputs per target, so the fuzzers start from inputs
that pass the first checks (a secret with a good checksum, a change stream
without gaps) instead of having to find them. Protobuf seeds are written in
text format and encoded with protoc, which needs no Python bindings.

Run from anywhere: tests/fuzz/make_corpus.py. Deterministic: the same files
come out every time, so regenerating changes nothing unless this script did.
"""

import pathlib
import random
import shutil
import struct
import subprocess
import zlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RNG = random.Random(7)


def base62(value, width):
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(DIGITS[digit])
    return "".join(reversed(out))


def secret(prefix):
    """A well-formed secret as libs/secrets/token_secret.h describes."""
    body = base62(RNG.getrandbits(256), 43)
    checksum = base62(zlib.crc32((prefix + body).encode()), 6)
    return prefix + body + checksum


def encode(message_type, text):
    """Binary protobuf of `text` (text format) via protoc --encode."""
    return subprocess.run(
        ["protoc", f"-I{ROOT / 'protos'}", "-I/usr/include",
         f"--encode={message_type}",
         "warden/changes/v1/change_stream_service.proto"],
        input=text.encode(), capture_output=True, check=True).stdout


def ident(prefix):
    return prefix + "_" + "".join(
        RNG.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(20))


ORG, USER, PSET = ident("org"), ident("usr"), ident("pset")
SVC, TOKEN = ident("svc"), ident("tok")
DIGEST = "".join(f"\\{RNG.randrange(256):03o}" for _ in range(32))
WHEN = "committed_at { seconds: 1767225600 }"

# Records as TokenService writes them in a first few revisions.
RECORDS = {
    "org": f'organization {{ id: "{ORG}" name: "Example Org" }}',
    "pset": (f'permission_set {{ id: "{PSET}" organization_id: "{ORG}" '
             'name: "Admins" permissions: "platform.api_tokens" '
             'permissions: "platform.users" }'),
    "user": (f'user {{ id: "{USER}" organization_id: "{ORG}" '
             'email: "admin@example.com" display_name: "Admin" '
             f'status: USER_STATUS_ACTIVE permission_set_id: "{PSET}" }}'),
    "svc": (f'service_user {{ id: "{SVC}" organization_id: "{ORG}" '
            f'name: "ci" permission_set_ids: "{PSET}" token_id: "{TOKEN}" }}'),
    "token": (f'token {{ id: "{TOKEN}" organization_id: "{ORG}" '
              f'kind: TOKEN_KIND_SERVICE_USER name: "ci" subject_id: "{SVC}" '
              f'state: TOKEN_STATE_ACTIVE secret_digest: "{DIGEST}" '
              'created_at { seconds: 1767225600 } '
              'secret_issued_at { seconds: 1767225600 } }'),
    "revoked": (f'token {{ id: "{TOKEN}" organization_id: "{ORG}" '
                f'kind: TOKEN_KIND_SERVICE_USER name: "ci" '
                f'subject_id: "{SVC}" state: TOKEN_STATE_REVOKED '
                f'secret_digest: "{DIGEST}" }}'),
}


def change(revision, action, *changes):
    parts = " ".join(
        f"changes {{ operation: {op} record {{ {RECORDS[name]} }} }}"
        for op, name in changes)
    return (f'revision: {revision} {WHEN} action: "{action}" {parts}')


UPSERT, DELETE = "CHANGE_OPERATION_UPSERT", "CHANGE_OPERATION_DELETE"
CHANGES = [
    change(1, "organization.create", (UPSERT, "org"), (UPSERT, "pset"),
           (UPSERT, "user")),
    change(2, "service_user.create", (UPSERT, "svc"), (UPSERT, "token")),
    change(3, "token.revoke", (UPSERT, "revoked")),
    change(4, "service_user.delete", (DELETE, "revoked"), (DELETE, "svc")),
]


def watch_response(changes, committed):
    body = " ".join(f"changes {{ {c} }}" for c in changes)
    return encode("warden.changes.v1.WatchResponse",
                  f"{body} committed_revision: {committed}")


def framed(messages):
    """Two-byte length framing of change_record_fuzz and index_apply_fuzz."""
    out = b""
    for message in messages:
        out += struct.pack(">H", len(message)) + message
    return out


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)

    # token_secret_fuzz: whole secrets and near misses.
    for i in range(3):
        write("token_secret_fuzz", f"user_{i}", secret("wdn_user_").encode())
        write("token_secret_fuzz", f"svc_{i}", secret("wdn_svc_").encode())
    good = secret("wdn_svc_")
    write("token_secret_fuzz", "bad_checksum", (good[:-1] + "0").encode())
    write("token_secret_fuzz", "short", good[:-2].encode())

    # request_validation_fuzz: FuzzedDataProvider takes integers from the
    # end, so the selector (0..7) is the last byte, other integers before.
    def seed(selector, payload=b"", integers=b""):
        return payload + integers + bytes([selector])
    rv = "request_validation_fuzz"
    write(rv, "name", seed(0, "Ünïcode name".encode(), b"\x00\x40"))
    write(rv, "email", seed(1, b"admin@example.com"))
    write(rv, "request_id", seed(2, b"req-2026_01"))
    write(rv, "page_size", seed(3, b"", struct.pack("<iHH", 50, 100, 500)))
    write(rv, "page_token", seed(4, b"tokens\\ users\\ tok_abc\\ dG9rZW5zCng"))
    write(rv, "token_id", seed(5, TOKEN.encode(), bytes([4])))
    write(rv, "org_id", seed(5, ORG.encode(), bytes([0])))
    write(rv, "inactivity", seed(6, b"", struct.pack("<i", 45)))
    catalog = (ROOT / "deploy/config/permission_catalog.json").read_bytes()
    write(rv, "catalog", seed(7, catalog))

    # change_record_fuzz: mode byte, then the message(s).
    cr = "change_record_fuzz"
    stream = [watch_response(CHANGES[:2], 2), watch_response(CHANGES[2:3], 3),
              watch_response([], 3)]
    write(cr, "stream", bytes([0, 0]) + framed(stream))
    write(cr, "stream_resumed", bytes([0, 2]) + framed(
        [watch_response(CHANGES[2:4], 4)]))
    write(cr, "stream_gap", bytes([0, 0]) + framed(
        [watch_response([CHANGES[0], CHANGES[2]], 3)]))
    for i, text in enumerate(CHANGES):
        write(cr, f"change_{i + 1}",
              bytes([1]) + encode("warden.model.v1.ChangeRecord", text))
    for name, text in RECORDS.items():
        write(cr, f"record_{name}",
              bytes([2]) + encode("warden.model.v1.Record", text))

    # index_apply_fuzz: snapshot revision, then batches.
    ia = "index_apply_fuzz"
    write(ia, "one_batch", bytes([0]) + framed([watch_response(CHANGES, 4)]))
    write(ia, "batches", bytes([0]) + framed(
        [watch_response([c], i + 1) for i, c in enumerate(CHANGES)]))
    write(ia, "repeat", bytes([0]) + framed(
        [watch_response(CHANGES[:2], 2), watch_response(CHANGES[:3], 3)]))
    write(ia, "gap", bytes([0]) + framed(
        [watch_response([CHANGES[0], CHANGES[3]], 4)]))


if __name__ == "__main__":
    main()
