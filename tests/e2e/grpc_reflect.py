#!/usr/bin/python3
"""A small grpcurl-like client that learns a server's API by reflection.

It needs only Debian's python3-grpcio and python3-protobuf: the messages of
the reflection protocol and of grpc.health.v1 are built here at run time
from descriptors written in Python, and the target service's messages are
built from the file descriptors the server sends back.

Command line (plaintext connections only; warden listens on loopback):

  grpc_reflect.py [-H 'k: v']... ADDRESS list [SERVICE]
  grpc_reflect.py [-H 'k: v']... [-d JSON|@FILE|@] ADDRESS SERVICE/METHOD
  grpc_reflect.py ADDRESS health [SERVICE]

A unary call prints the response as JSON (lowerCamelCase names, as grpcurl
does); a server-streaming call prints one JSON document per message. On a
failed call it prints `ERROR: code=<NAME> message=<text>` and the trailing
metadata to stderr and exits 1.

As a module:

  import grpc_reflect
  reply = grpc_reflect.call("127.0.0.1:50051",
                            "warden.token.v1.TokenService/GetToken",
                            {"tokenId": "..."},
                            [("authorization", "Bearer ...")])

call() returns the response as a dict and raises CallError on a gRPC error.
"""

import argparse
import base64
import json
import sys

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import json_format
from google.protobuf import message_factory

_FIELD = descriptor_pb2.FieldDescriptorProto

# Both packages serve the same messages; C++ gRPC as packaged in Debian 12
# registers only v1alpha, newer servers register both.
_REFLECTION_PACKAGES = ("grpc.reflection.v1alpha", "grpc.reflection.v1")
_HEALTH_SERVICE = "grpc.health.v1.Health"


class CallError(Exception):
    """A call that ended with a non-OK gRPC status."""

    def __init__(self, code, message, trailing_metadata=()):
        super().__init__(f"code={code} message={message}")
        self.code = code  # grpc.StatusCode name, e.g. "PERMISSION_DENIED"
        self.message = message
        self.trailing_metadata = list(trailing_metadata or ())


class ReflectionError(Exception):
    """The server could not describe a symbol, or has no reflection."""


# --- Descriptors written by hand -------------------------------------------


def _add_field(message, name, number, field_type, label=_FIELD.LABEL_OPTIONAL,
               type_name=None, oneof_index=None):
    field = message.field.add(name=name, number=number, type=field_type,
                              label=label)
    field.json_name = _lower_camel(name)
    if type_name:
        field.type_name = type_name
    if oneof_index is not None:
        field.oneof_index = oneof_index
    return field


def _lower_camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _reflection_file(package):
    """reflection.proto of `package`, as the gRPC project publishes it."""
    f = descriptor_pb2.FileDescriptorProto(
        name=f"{package.replace('.', '/')}/reflection.proto",
        package=package, syntax="proto3")
    p = "." + package
    string, int32, bytes_, msg = (_FIELD.TYPE_STRING, _FIELD.TYPE_INT32,
                                  _FIELD.TYPE_BYTES, _FIELD.TYPE_MESSAGE)
    repeated = _FIELD.LABEL_REPEATED

    req = f.message_type.add(name="ServerReflectionRequest")
    req.oneof_decl.add(name="message_request")
    _add_field(req, "host", 1, string)
    _add_field(req, "file_by_filename", 3, string, oneof_index=0)
    _add_field(req, "file_containing_symbol", 4, string, oneof_index=0)
    _add_field(req, "file_containing_extension", 5, msg,
               type_name=p + ".ExtensionRequest", oneof_index=0)
    _add_field(req, "all_extension_numbers_of_type", 6, string, oneof_index=0)
    _add_field(req, "list_services", 7, string, oneof_index=0)

    ext = f.message_type.add(name="ExtensionRequest")
    _add_field(ext, "containing_type", 1, string)
    _add_field(ext, "extension_number", 2, int32)

    resp = f.message_type.add(name="ServerReflectionResponse")
    resp.oneof_decl.add(name="message_response")
    _add_field(resp, "valid_host", 1, string)
    _add_field(resp, "original_request", 2, msg,
               type_name=p + ".ServerReflectionRequest")
    _add_field(resp, "file_descriptor_response", 4, msg,
               type_name=p + ".FileDescriptorResponse", oneof_index=0)
    _add_field(resp, "all_extension_numbers_response", 5, msg,
               type_name=p + ".ExtensionNumberResponse", oneof_index=0)
    _add_field(resp, "list_services_response", 6, msg,
               type_name=p + ".ListServiceResponse", oneof_index=0)
    _add_field(resp, "error_response", 7, msg,
               type_name=p + ".ErrorResponse", oneof_index=0)

    fdr = f.message_type.add(name="FileDescriptorResponse")
    _add_field(fdr, "file_descriptor_proto", 1, bytes_, label=repeated)

    enr = f.message_type.add(name="ExtensionNumberResponse")
    _add_field(enr, "base_type_name", 1, string)
    _add_field(enr, "extension_number", 2, int32, label=repeated)

    lsr = f.message_type.add(name="ListServiceResponse")
    _add_field(lsr, "service", 1, msg, label=repeated,
               type_name=p + ".ServiceResponse")

    sr = f.message_type.add(name="ServiceResponse")
    _add_field(sr, "name", 1, string)

    er = f.message_type.add(name="ErrorResponse")
    _add_field(er, "error_code", 1, int32)
    _add_field(er, "error_message", 2, string)

    svc = f.service.add(name="ServerReflection")
    svc.method.add(name="ServerReflectionInfo",
                   input_type=p + ".ServerReflectionRequest",
                   output_type=p + ".ServerReflectionResponse",
                   client_streaming=True, server_streaming=True)
    return f


def _health_file():
    """grpc/health/v1/health.proto, for servers whose health service has no
    descriptor to reflect (C++'s default health service is one of them)."""
    f = descriptor_pb2.FileDescriptorProto(
        name="grpc/health/v1/health.proto", package="grpc.health.v1",
        syntax="proto3")
    req = f.message_type.add(name="HealthCheckRequest")
    _add_field(req, "service", 1, _FIELD.TYPE_STRING)
    resp = f.message_type.add(name="HealthCheckResponse")
    status = resp.enum_type.add(name="ServingStatus")
    for number, name in enumerate(
            ("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        status.value.add(name=name, number=number)
    _add_field(resp, "status", 1, _FIELD.TYPE_ENUM,
               type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus")
    svc = f.service.add(name="Health")
    for name, streaming in (("Check", False), ("Watch", True)):
        svc.method.add(name=name,
                       input_type=".grpc.health.v1.HealthCheckRequest",
                       output_type=".grpc.health.v1.HealthCheckResponse",
                       server_streaming=streaming)
    return f


def _message_class(descriptor):
    # GetMessageClass arrived in protobuf 4.22; Debian 12 ships 4.21.
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(
        descriptor)


_builtin_pool = descriptor_pool.DescriptorPool()
for _file in [_reflection_file(p) for p in _REFLECTION_PACKAGES] + [
        _health_file()]:
    _builtin_pool.Add(_file)


# --- The reflection client --------------------------------------------------


class Reflector:
    """Resolves services and messages of one server into a private pool.

    Not safe to use from several threads at once.
    """

    def __init__(self, channel, metadata=None, timeout=10.0):
        self._channel = channel
        self._metadata = list(metadata or ())
        self._timeout = timeout
        self._package = None  # reflection package the server answers on
        self.pool = descriptor_pool.DescriptorPool()
        self._added = set()  # file names already in self.pool
        self._received = {}  # file name -> FileDescriptorProto

    def _ask(self, **request_fields):
        """Sends one reflection request and returns its response message."""
        packages = [self._package] if self._package else _REFLECTION_PACKAGES
        last_error = None
        for package in packages:
            req_cls = _message_class(_builtin_pool.FindMessageTypeByName(
                package + ".ServerReflectionRequest"))
            resp_cls = _message_class(_builtin_pool.FindMessageTypeByName(
                package + ".ServerReflectionResponse"))
            stream = self._channel.stream_stream(
                f"/{package}.ServerReflection/ServerReflectionInfo",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=resp_cls.FromString)
            try:
                responses = stream(iter([req_cls(**request_fields)]),
                                   metadata=self._metadata,
                                   timeout=self._timeout)
                response = next(iter(responses))
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    last_error = e
                    continue
                raise
            self._package = package
            if response.WhichOneof("message_response") == "error_response":
                error = response.error_response
                codes = {c.value[0]: c.name for c in grpc.StatusCode}
                raise ReflectionError(
                    f"{next(iter(request_fields.values()))}: "
                    f"{error.error_message} "
                    f"({codes.get(error.error_code, error.error_code)})")
            return response
        raise ReflectionError(
            "server does not offer gRPC reflection: "
            f"{last_error.details() if last_error else 'no answer'}")

    def list_services(self):
        response = self._ask(list_services="*")
        return sorted(s.name for s in response.list_services_response.service)

    def _take_files(self, response):
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self._received.setdefault(proto.name, proto)

    def _add_file(self, name):
        """Adds file `name` to the pool, its dependencies first."""
        if name in self._added:
            return
        if name not in self._received:
            self._take_files(self._ask(file_by_filename=name))
        proto = self._received.get(name)
        if proto is None:
            raise ReflectionError(f"server did not send file {name}")
        for dependency in proto.dependency:
            self._add_file(dependency)
        self.pool.Add(proto)
        self._added.add(name)

    def resolve(self, symbol):
        """Makes `symbol` (a service or message full name) and everything it
        refers to available in self.pool."""
        try:
            response = self._ask(file_containing_symbol=symbol)
        except ReflectionError:
            if not symbol.startswith(_HEALTH_SERVICE):
                raise
            # The server may serve health without a descriptor for it.
            if "grpc/health/v1/health.proto" not in self._added:
                self.pool.Add(_health_file())
                self._added.add("grpc/health/v1/health.proto")
            return
        # Servers send the file and usually its dependencies, in no promised
        # order; add them all, each after what it imports.
        self._take_files(response)
        for raw in response.file_descriptor_response.file_descriptor_proto:
            self._add_file(descriptor_pb2.FileDescriptorProto.FromString(
                raw).name)

    def method(self, full_method):
        """Returns the MethodDescriptor of "pkg.Service/Method" (or
        "pkg.Service.Method")."""
        if "/" in full_method:
            service, _, method = full_method.rpartition("/")
        else:
            service, _, method = full_method.rpartition(".")
        service = service.lstrip("/")
        if not service or not method:
            raise ReflectionError(
                f"method must look like package.Service/Method: {full_method}")
        self.resolve(service)
        try:
            return self.pool.FindServiceByName(service).methods_by_name[method]
        except KeyError:
            raise ReflectionError(
                f"service {service} has no method {method}") from None


# --- Calls ------------------------------------------------------------------


def _parse_metadata(headers):
    metadata = []
    for header in headers or ():
        key, sep, value = header.partition(":")
        if not sep:
            raise ValueError(f"header must look like 'name: value': {header}")
        metadata.append((key.strip().lower(), value.strip()))
    return metadata


def _to_dict(message, pool):
    return json_format.MessageToDict(message,
                                     preserving_proto_field_name=False,
                                     descriptor_pool=pool)


def _call_error(rpc_error):
    return CallError(rpc_error.code().name, rpc_error.details() or "",
                     rpc_error.trailing_metadata())


def _responses(channel, pool, method, request, metadata, timeout):
    """Calls `method` with `request` (a dict) and yields its responses as
    messages, one for a unary method. Raises CallError on a non-OK status."""
    if method.client_streaming:
        raise ReflectionError(
            f"{method.full_name} is client-streaming; only unary and "
            "server-streaming methods can be called")
    message = _message_class(method.input_type)()
    json_format.ParseDict(request or {}, message, descriptor_pool=pool)

    path = f"/{method.containing_service.full_name}/{method.name}"
    make = channel.unary_stream if method.server_streaming else \
        channel.unary_unary
    stub = make(path, request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=_message_class(
                    method.output_type).FromString)
    try:
        reply = stub(message, metadata=list(metadata or ()), timeout=timeout)
        if not method.server_streaming:
            reply = [reply]
        yield from reply
    except grpc.RpcError as e:
        raise _call_error(e) from None


def _call(address, method, request, metadata, timeout, streaming):
    with grpc.insecure_channel(address) as channel:
        reflector = Reflector(channel, metadata, timeout)
        try:
            descriptor = reflector.method(method)
        except grpc.RpcError as e:  # the reflection request itself failed
            raise _call_error(e) from None
        if descriptor.server_streaming != streaming:
            raise ReflectionError(
                f"{method} is {'' if descriptor.server_streaming else 'not '}"
                f"server-streaming; use "
                f"{'call_stream' if descriptor.server_streaming else 'call'}()")
        out = []
        try:
            for response in _responses(channel, reflector.pool, descriptor,
                                       request, metadata, timeout):
                out.append(_to_dict(response, reflector.pool))
        except CallError as e:
            # A stream that has delivered something may end at the deadline.
            if not (streaming and out and e.code == "DEADLINE_EXCEEDED"):
                raise
        return out


def call(address, method, request=None, metadata=None, timeout=10.0):
    """Calls a unary `method` ("pkg.Service/Method") on `address` and returns
    the response as a dict with lowerCamelCase keys.

    `request` is a dict in proto JSON form; `metadata` a list of (key, value)
    pairs with lowercase keys. Raises CallError on a non-OK gRPC status and
    ReflectionError when the method cannot be resolved.
    """
    return _call(address, method, request, metadata, timeout, False)[0]


def call_stream(address, method, request=None, metadata=None, timeout=10.0):
    """Like call() for a server-streaming method: returns the list of
    response dicts received until the stream ended or `timeout` passed
    (DEADLINE_EXCEEDED after at least one message is not an error here)."""
    return _call(address, method, request, metadata, timeout, True)


def health(address, service="", timeout=2.0):
    """Returns the serving status name of `service` ("" for the server as a
    whole), e.g. "SERVING". Raises CallError when the server cannot answer.
    Needs no reflection: the health protocol is built in."""
    with grpc.insecure_channel(address) as channel:
        method = _builtin_pool.FindServiceByName(
            _HEALTH_SERVICE).methods_by_name["Check"]
        response = next(_responses(channel, _builtin_pool, method,
                                   {"service": service}, (), timeout))
        return _to_dict(response, _builtin_pool).get("status", "UNKNOWN")


def list_services(address, metadata=None, timeout=10.0):
    """Returns the full names of the services `address` serves."""
    with grpc.insecure_channel(address) as channel:
        return Reflector(channel, metadata, timeout).list_services()


# --- Command line -----------------------------------------------------------


def _format_metadata_value(key, value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _read_request(data):
    if data is None:
        return {}
    if data in ("@", "@-"):
        data = sys.stdin.read()
    elif data.startswith("@"):
        with open(data[1:], encoding="utf-8") as f:
            data = f.read()
    return json.loads(data) if data.strip() else {}


def _print_method_list(reflector, service):
    reflector.resolve(service)
    descriptor = reflector.pool.FindServiceByName(service)
    for m in descriptor.methods:
        arg = m.input_type.full_name
        ret = m.output_type.full_name
        if m.client_streaming:
            arg = "stream " + arg
        if m.server_streaming:
            ret = "stream " + ret
        print(f"{service}.{m.name}({arg}) returns ({ret})")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Call a gRPC server that offers reflection, like grpcurl "
                    "-plaintext.",
        epilog="examples:\n"
               "  %(prog)s 127.0.0.1:50051 list\n"
               "  %(prog)s 127.0.0.1:50051 health\n"
               "  %(prog)s -H 'authorization: Bearer $TOKEN' -d '{}' "
               "127.0.0.1:50051 pkg.Service/Method",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-H", dest="headers", action="append", default=[],
                        metavar="'NAME: VALUE'",
                        help="request metadata; may be repeated")
    parser.add_argument("-d", dest="data", metavar="JSON",
                        help="request as JSON; @FILE reads a file, @ or @- "
                             "reads stdin")
    parser.add_argument("--token-file", metavar="FILE",
                        help="send 'authorization: Bearer <file contents>'")
    parser.add_argument("--max-time", type=float, default=10.0,
                        metavar="SECONDS",
                        help="deadline of each RPC (default 10)")
    parser.add_argument("address", help="host:port, plaintext")
    parser.add_argument("target",
                        help="'list', 'health' or package.Service/Method")
    parser.add_argument("symbol", nargs="?",
                        help="for list: a service; for health: a service")
    args = parser.parse_args(argv)

    try:
        metadata = _parse_metadata(args.headers)
        if args.token_file:
            with open(args.token_file, encoding="utf-8") as f:
                metadata.append(("authorization", f"Bearer {f.read().strip()}"))

        with grpc.insecure_channel(args.address) as channel:
            reflector = Reflector(channel, metadata, args.max_time)
            if args.target == "list":
                if args.symbol:
                    _print_method_list(reflector, args.symbol)
                else:
                    print("\n".join(reflector.list_services()))
                return 0
            if args.target == "health":
                status = health(args.address, args.symbol or "",
                                args.max_time)
                print(status)
                return 0 if status == "SERVING" else 2

            method = reflector.method(args.target)
            for response in _responses(channel, reflector.pool, method,
                                       _read_request(args.data), metadata,
                                       args.max_time):
                print(json_format.MessageToJson(
                    response, preserving_proto_field_name=False,
                    descriptor_pool=reflector.pool, indent=2))
            return 0
    except CallError as e:
        print(f"ERROR: code={e.code} message={e.message}", file=sys.stderr)
        for key, value in e.trailing_metadata:
            print(f"  {key}: {_format_metadata_value(key, value)}",
                  file=sys.stderr)
        return 1
    except grpc.RpcError as e:  # a reflection request failed
        print(f"ERROR: code={e.code().name} message={e.details()}",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`
        return 1
    except (ReflectionError, ValueError, OSError,
            json_format.ParseError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
