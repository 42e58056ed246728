#!/usr/bin/python3
"""How a Python microservice authorizes an incoming API request.

A service that receives an API call with "Authorization: Bearer <token>"
asks the AuthzService sidecar beside it, in one call, whether the token's
subject may perform the action on the item. The answer also names the
subject as activity logs should show it: the user's name for a user token,
the service user's name for a service-user token.

Generate the Python stubs once from the protos (generate_stubs.sh), then:

  PYTHONPATH=<stubs dir> authorize_request.py --sidecar 127.0.0.1:50061 \\
      --token "$TOKEN" --permission templates.view --item item_...

Exit code: 0 allowed, 1 denied, 2 the sidecar could not answer.
"""

import argparse
import sys

import grpc

from warden.authz.v1 import authz_service_pb2
from warden.authz.v1 import authz_service_pb2_grpc
from warden.model.v1 import model_pb2


def authorize(channel, token, permission, item_id, min_revision=0):
    """Returns the sidecar's AuthorizeResponse for one API request."""
    stub = authz_service_pb2_grpc.AuthzServiceStub(channel)
    request = authz_service_pb2.AuthorizeRequest(
        token=token, permission=permission, item_id=item_id,
        min_revision=min_revision)
    # A sidecar on localhost answers in well under a millisecond; a short
    # deadline keeps a stuck sidecar from stalling the request.
    return stub.Authorize(request, timeout=2.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sidecar", default="127.0.0.1:50061")
    parser.add_argument("--token", required=True,
                        help="the API token from the incoming request")
    parser.add_argument("--permission", required=True)
    parser.add_argument("--item", default="", help="the item acted on")
    parser.add_argument("--min-revision", type=int, default=0,
                        help="wait until the sidecar has seen this revision")
    args = parser.parse_args(argv)

    with grpc.insecure_channel(args.sidecar) as channel:
        try:
            answer = authorize(channel, args.token, args.permission, args.item,
                               args.min_revision)
        except grpc.RpcError as error:
            reason = dict(error.trailing_metadata() or ()).get(
                "warden-auth-failure", "")
            print(f"error: {error.code().name}: {error.details()}"
                  + (f" (token {reason})" if reason else ""))
            # An unauthenticated token is the caller's problem (HTTP 401);
            # anything else is ours (HTTP 503).
            return 1 if error.code() == grpc.StatusCode.UNAUTHENTICATED else 2

    reason = model_pb2.DecisionReason.Name(answer.reason)
    print(f"allowed={str(answer.allowed).lower()} reason={reason} "
          f"actor=\"{answer.actor.display_name}\" "
          f"organization={answer.subject.organization_id} "
          f"revision={answer.revision}")
    return 0 if answer.allowed else 1


if __name__ == "__main__":
    sys.exit(main())
