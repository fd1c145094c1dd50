"""The fake AWS's front door: moto on loopback, behind a WSGI middleware that answers like AWS where moto does not.

moto lets anyone assume any role and enforces no policy. This module owns what sits between boto3 and moto:

* STS AssumeRole is refused, exactly as AWS refuses it, unless the role exists and its trust policy allows the
  caller with the ExternalId presented (or its absence);
* a session of an existing role may only do what the role's policies allow (S3, JSON and query services);
* fault injection for tests and benchmarks: throttling, delays, latency, and a log of every call
  (``FaultInjection``, shared with the billing fake);
* AWS-shaped errors for each protocol, and for moto's crashes on actions it does not implement (501, so that
  botocore does not retry them as server errors).

Everything else is moto's own answer. It serves 127.0.0.1 on an ephemeral port; S3 is reached path-style
(botocore's choice for an IP endpoint).
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import make_server

from bot.sandbox.iam_policy import Caller, Decision, caller_of, denial_message, find_role, identity_decision, trust_allows

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

# --- fault injection and the call log, shared with aws_billing.py -----------------------------------------


@dataclass
class Call:
    """One signed request as a fake received it. `status` and `at` are informative and not compared."""

    service: str  # the IAM service prefix: s3, sts, ce, organizations, cur, bcm-data-exports...
    action: str | None  # the API operation (ListObjectsV2, AssumeRole...); None when it could not be told
    account_id: str  # the caller's account
    status: int = field(default=0, compare=False)
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass
class _Fault:
    service: str
    action: str | None  # None: every action of the service
    seconds: float = 0.0
    times: int = 0

    def matches(self, service: str, action: str | None) -> bool:
        return self.service == service and self.action in (None, action)


class FaultInjection:
    """Throttles, delays, latency and the call log. Thread-safe: the servers answer on many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._throttles: list[_Fault] = []
        self._delays: list[_Fault] = []
        self._latency = 0.0

    def throttle(self, service: str, action: str | None = None, times: int = 1) -> None:
        """The next `times` matching calls are answered the way AWS throttles (and botocore retries)."""
        with self._lock:
            self._throttles.append(_Fault(service, action, times=times))

    def delay(self, service: str, action: str | None, seconds: float) -> None:
        """Every matching call waits `seconds` before it is answered, until reset()."""
        with self._lock:
            self._delays.append(_Fault(service, action, seconds=seconds))

    def latency(self, seconds: float) -> None:
        """Every call waits `seconds` (on top of any delay)."""
        with self._lock:
            self._latency = seconds

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        """Forget the calls so far; faults stay."""
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """No faults, no calls."""
        with self._lock:
            self._calls.clear()
            self._throttles.clear()
            self._delays.clear()
            self._latency = 0.0

    def _arrive(self, service: str, action: str | None, account_id: str) -> tuple[Call, bool]:
        """Log the call, wait as configured; True when it must be answered as throttled."""
        with self._lock:
            call = Call(service, action, account_id)
            self._calls.append(call)
            wait = self._latency + sum(d.seconds for d in self._delays if d.matches(service, action))
            throttle = next((t for t in self._throttles if t.times > 0 and t.matches(service, action)), None)
            if throttle is not None:
                throttle.times -= 1
        if wait:
            time.sleep(wait)
        return call, throttle is not None


# --- AWS-shaped answers -----------------------------------------------------------------------------------


@dataclass
class Answer:
    """A complete HTTP answer, given to WSGI by calling it; it records its status on the call it answers."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def __call__(self, call: Call | None, start_response: StartResponse, *, head: bool = False) -> Iterable[bytes]:
        if call is not None:
            call.status = self.status
        body = b"" if head else self.body
        start_response(f"{self.status} {HTTP_STATUS_CODES.get(self.status, 'Error')}", self.headers + [("Content-Length", str(len(body)))])
        return [body]


def request_id() -> str:
    return secrets.token_hex(16).upper()


def json_answer(status: int, payload: dict, content_type: str = "application/x-amz-json-1.1") -> Answer:
    return Answer(status, [("Content-Type", content_type), ("x-amzn-RequestId", request_id())], json.dumps(payload).encode())


def json_error(status: int, code: str, message: str, **extra: Any) -> Answer:
    """The JSON 1.0/1.1 protocol's error: `__type` names the code (ce, organizations, cur, bcm-data-exports)."""
    return json_answer(status, {"__type": code, "Message": message, **extra})


def _xml(status: int, body: str, content_type: str = "text/xml") -> Answer:
    return Answer(status, [("Content-Type", content_type), ("x-amzn-RequestId", request_id())], body.encode())


def error_answer(protocol: str, status: int, code: str, message: str, *, namespace: str = "", bucket: str | None = None) -> Answer:
    """An error in the wire shape of `protocol` (one of json, query, ec2, s3, rest-json, rest-xml)."""
    text = escape(message)
    if protocol == "json":
        return json_error(status, code, message)
    if protocol == "rest-json":
        answer = json_answer(status, {"message": message}, "application/json")
        answer.headers.append(("x-amzn-ErrorType", code))
        return answer
    if protocol == "ec2":
        return _xml(status, f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                            f"<Message>{text}</Message></Error></Errors><RequestID>{request_id()}</RequestID></Response>")
    if protocol == "s3":
        answer = _xml(status, f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{text}</Message>'
                              f"<RequestId>{request_id()}</RequestId><HostId>{secrets.token_urlsafe(32)}</HostId></Error>",
                      "application/xml")
        region = _bucket_region(bucket) if bucket else None
        if region:
            # S3 names an existing bucket's region even when it refuses the request.
            answer.headers.append(("x-amz-bucket-region", region))
        return answer
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return _xml(status, f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code><Message>{text}</Message></Error>"
                        f"<RequestId>{request_id()}</RequestId></ErrorResponse>")


# How AWS refuses (status, code) and throttles (status, code, message) in each protocol; the rest is query/XML.
_DENIED = {"json": (400, "AccessDeniedException"), "rest-json": (403, "AccessDeniedException"), "ec2": (403, "UnauthorizedOperation")}
_THROTTLED = {
    "json": (400, "ThrottlingException", "Rate exceeded"),
    "rest-json": (429, "ThrottlingException", "Rate exceeded"),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
}


def _bucket_region(bucket: str) -> str | None:
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account_id = owner
    found = s3_backends[account_id][partition].buckets.get(bucket)
    return found.region_name if found is not None else None


# --- what a request is --------------------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# JSON services are told by their X-Amz-Target prefix; the rest by the service in the credential scope.
TARGET_SERVICES = {"AWSInsightsIndexService": "ce", "AWSOrganizationsV20161128": "organizations"}

# S3 operations whose IAM action has another name (the others are s3:<Operation>).
S3_ACTIONS = {
    "HeadBucket": "ListBucket", "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadObject": "GetObject",
    "ListObjectVersions": "ListBucketVersions", "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts", "ListBuckets": "ListAllMyBuckets", "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject", "DeleteObjects": "DeleteObject", "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS", "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration", "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification", "PutBucketNotificationConfiguration": "PutBucketNotification",
}


@dataclass
class AwsRequest:
    access_key: str
    service: str  # IAM prefix
    operation: str | None
    protocol: str
    params: dict[str, str]  # query-protocol parameters
    labels: dict[str, str]  # REST URI labels (Bucket, Key...)
    namespace: str = ""  # the query protocol's XML namespace

    @property
    def action(self) -> str:
        """The IAM action this request needs."""
        operation = self.operation or "UnknownOperation"
        if self.service == "s3":
            return f"s3:{S3_ACTIONS.get(operation, operation)}"
        return f"{self.service}:{operation}"

    @property
    def resource(self) -> str:
        if self.service == "s3" and "Bucket" in self.labels:
            key = self.labels.get("Key")
            return f"arn:aws:s3:::{self.labels['Bucket']}" + (f"/{key}" if key is not None else "")
        if self.action == "sts:AssumeRole":
            return self.params.get("RoleArn", "*")
        # The rest are checked against "*": the actions the template grants support no resource-level permissions.
        return "*"


def _read_form(environ: Environ) -> dict[str, str]:
    """The form parameters of a query-protocol POST; the body is put back for moto."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}


def parse_request(environ: Environ) -> AwsRequest | None:
    """What a SigV4-signed request asks for; None for unsigned requests (moto's own /moto-api, for one)."""
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "")) or _CREDENTIAL.search(
        "Credential=" + query.get("X-Amz-Credential", "")
    )
    if found is None:
        return None
    access_key, _, scope_service = found.groups()
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        prefix, _, operation = target.partition(".")
        return AwsRequest(access_key, TARGET_SERVICES.get(prefix, scope_service), operation, "json", {}, {})
    params = {**query, **_read_form(environ)}
    if "Action" in params:
        protocol = "ec2" if scope_service == "ec2" else "query"
        version = params.get("Version", "")
        namespace = f"https://{scope_service}.amazonaws.com/doc/{version}/" if version else ""
        return AwsRequest(access_key, scope_service, params["Action"], protocol, params, {}, namespace)
    # werkzeug hands PATH_INFO over as latin-1; S3 keys are UTF-8.
    path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
    headers = {k[5:].replace("_", "-").lower() for k in environ if k.startswith("HTTP_")}
    protocol, operations = _rest_operations(scope_service)
    operation, labels = _match_rest(operations, environ["REQUEST_METHOD"], path, query, headers)
    return AwsRequest(access_key, scope_service, operation, "s3" if scope_service == "s3" else protocol, params, labels)


@dataclass(frozen=True)
class _RestOperation:
    name: str
    method: str
    path: re.Pattern
    literal: int  # characters of the URI that are not labels: more is more specific
    query: tuple[tuple[str, str | None], ...]  # required query keys (and values, when the URI fixes them)
    headers: tuple[str, ...]  # required headers (CopyObject's x-amz-copy-source...)


_botocore_lock = threading.Lock()


@lru_cache(maxsize=None)
def _rest_operations(service: str) -> tuple[str, tuple[_RestOperation, ...]]:
    """The REST operations of a service, from botocore's own model (its signing name is its model name here)."""
    try:
        model = service_model(service)
    except UnknownServiceError:
        return "rest-json", ()
    operations = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri_path, _, uri_query = operation.http.get("requestUri", "/").partition("?")
        pattern, literal = "", 0
        for piece in re.split(r"(\{[^}]+\})", uri_path):
            if piece.startswith("{"):
                label = piece.strip("{}+")
                pattern += f"(?P<{label}>.+)" if piece.endswith("+}") else f"(?P<{label}>[^/]+)"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        # "?list-type=2" fixes a value; "?policy" only needs the key.
        fixed = [(key, value if equals else None) for key, equals, value in
                 (part.partition("=") for part in uri_query.split("&") if part)]
        required_query, required_headers = [], []
        shape = operation.input_shape
        for member in shape.required_members if shape is not None else ():
            location = shape.members[member].serialization
            if location.get("location") == "querystring":
                required_query.append((location["name"], None))
            elif location.get("location") == "header":
                required_headers.append(location["name"].lower())
        operations.append(_RestOperation(name, operation.http["method"], re.compile(pattern), literal,
                                         tuple(dict(required_query + fixed).items()), tuple(required_headers)))
    return model.metadata.get("protocol", "rest-json"), tuple(operations)


_botocore = botocore.session.get_session()


@lru_cache(maxsize=None)
def service_model(name: str) -> Any:
    """botocore's model of a service (the fakes accept exactly what it describes). Its loader is not thread-safe."""
    with _botocore_lock:
        return _botocore.get_service_model(name)


def _match_rest(operations: Iterable[_RestOperation], method: str, path: str, query: dict[str, str],
                headers: set[str]) -> tuple[str | None, dict[str, str]]:
    """The most specific operation the request fits, and its URI labels: S3's GET /b?policy is GetBucketPolicy,
    not ListObjects."""
    best, best_score, labels = None, None, {}
    for operation in operations:
        found = operation.path.fullmatch(path) if operation.method == method else None
        if found is None:
            continue
        if any(key not in query or (value is not None and query[key] != value) for key, value in operation.query):
            continue
        if any(header not in headers for header in operation.headers):
            continue
        score = (len(operation.query), len(operation.headers), operation.literal)
        if best_score is None or score > best_score:
            best, best_score, labels = operation.name, score, found.groupdict()
    return best, labels


# --- the gateway ----------------------------------------------------------------------------------------------


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:  # one line per request drowns test output
        pass


class LoopbackServer:
    """A threaded werkzeug server for a WSGI app on 127.0.0.1, on an ephemeral port."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]):
        self._app = app
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-aws-{type(self._app).__name__}", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None


class ServedFake(FaultInjection):
    """A fake that is its own WSGI app, served on a loopback port of its own."""

    def __init__(self) -> None:
        super().__init__()
        self._server = LoopbackServer(self)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()


class AwsGateway(ServedFake):
    """moto's server app, with AWS's refusals in front of it. Use start()/stop(); `url` is the endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request = None if environ.get("PATH_INFO", "").startswith("/moto-api") else parse_request(environ)
        if request is None:
            return self._moto(environ, start_response)
        caller = caller_of(request.access_key)
        call, throttled = self._arrive(request.service, request.operation, caller.account_id)
        head = environ["REQUEST_METHOD"] == "HEAD"
        if throttled:
            status, code, message = _THROTTLED.get(request.protocol, (400, "Throttling", "Rate exceeded"))
            return self._error(request, status, code, message)(call, start_response, head=head)
        refusal = self._refusal(request, caller)
        if refusal is not None:
            return refusal(call, start_response, head=head)
        return self._pass(request, call, environ, start_response)

    def _error(self, request: AwsRequest, status: int, code: str, message: str) -> Answer:
        return error_answer(request.protocol, status, code, message, namespace=request.namespace, bucket=request.labels.get("Bucket"))

    def _refusal(self, request: AwsRequest, caller: Caller) -> Answer | None:
        """AWS's AccessDenied when the caller's policies, or a role's trust policy, do not allow the request."""
        if request.action == "sts:GetCallerIdentity":
            return None  # AWS answers it for any valid credentials, whatever the policies say
        decision = identity_decision(caller, request.action, request.resource)
        if decision is not Decision.ALLOW:
            status, code = _DENIED.get(request.protocol, (403, "AccessDenied"))
            return self._error(request, status, code, denial_message(caller, request.action, request.resource, decision))
        if request.action == "sts:AssumeRole":
            role_arn = request.params.get("RoleArn", "")
            role = find_role(role_arn)
            # AWS gives one answer for a missing role, an untrusted caller and a wrong or missing external ID.
            if role is None or not trust_allows(role, caller, request.params.get("ExternalId")):
                return self._error(request, 403, "AccessDenied",
                                   f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
        return None

    def _pass(self, request: AwsRequest, call: Call, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            call.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            return self._moto(environ, recording_start_response)
        except NotImplementedError as error:
            # moto raises for actions it lacks; AWS would answer. 501 is not retried by botocore.
            answer = self._error(request, 501, "NotImplemented", f"moto does not implement {request.action}: {error}")
        except Exception as error:  # a moto bug reaches the test as an AWS-shaped 500, not a traceback in the log
            answer = self._error(request, 500, "InternalFailure", f"moto failed on {request.action}: {type(error).__name__}: {error}")
        return answer(call, start_response, head=environ["REQUEST_METHOD"] == "HEAD")
