"""Start moto's server as strict as AWS where the pipeline depends on it.

1. getmoto/moto#10077: moto <= 5.2.1 deep-copies a state machine on every StartExecution,
   including its list of executions, whose running threads hold an RLock that cannot be
   copied: the second StartExecution of a machine fails. A clone never needs the
   executions, so the copy starts with an empty list (the upstream fix, #10093, does the
   same).
2. IAM. moto's access control is switched on by the Go side (POST /moto-api/reset-auth)
   once its operator user exists. moto evaluates only Action and Resource, treats an
   unmet Condition of an Allow as an explicit Deny, knows the resource only for S3, SQS,
   IAM and STS, and answers AccessDenied as XML for every protocol. Here:
   - every request is evaluated by `evaluate` (Allow/Deny, Action, Resource, the
     StringEquals/StringLike conditions our policies use, with s3:prefix from the request);
   - DynamoDB and Step Functions name their resource (table, index, state machine,
     execution ARN) so resource-scoped statements are really checked;
   - batch APIs are authorised as the action IAM names (SendMessageBatch is
     sqs:SendMessage, ...);
   - AccessDenied names the principal, action and resource, in the JSON shape for JSON
     protocols (X-Amz-Target) and as XML otherwise;
   - AssumeRole is allowed only for a role whose trust policy names the service the
     session is for (the session name), since the local runtime plays that service;
   - Step Functions service integrations sign with the state machine's role;
   - S3 answers a missing key with 403 to a caller without s3:ListBucket on the bucket,
     as S3 does (GetObject API reference, "Permissions");
   - a small side server answers the gateway's question "may the holder of this access
     key do action on resource" (Lambda Invoke, Bedrock), with the same evaluator.
3. AWS SDK integrations: PascalCase parameters reach camelCase APIs (sendTaskSuccess), and
   a service error is named by its code (Sfn.AccessDeniedException).
4. Speed: parse results are cached (`_parse_once`); LOCALCLOUD_PROFILE=file writes a
   cProfile of every thread when moto stops (docs/performance.md, "Local cloud overhead").
"""

import copy
import fnmatch
import functools
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlparse

try:
    import boto3
    from botocore.config import Config
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam import access_control
    from moto.iam.models import iam_backends
    from moto.s3.exceptions import MissingKey, S3ClientError
    from moto.s3.responses import S3Response
    from moto.server import main
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
    from moto.sqs.responses import SQSResponse
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.sts.models import sts_backends
except ImportError as err:  # the local cloud reports "moto not available" on this code
    print(err, file=sys.stderr)
    sys.exit(3)


def _deepcopy_without_executions(self, memo):
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        if name == "executions":
            value = []
        elif name != "backend":  # the backend is shared, never copied
            value = copy.deepcopy(value, memo)
        setattr(clone, name, value)
    return clone


StateMachine.__deepcopy__ = _deepcopy_without_executions


# --- speed (performance work): parse once, not on every state ---


def _parse_once():
    """moto's Step Functions interpreter re-parses on every use what never changes: each
    JSONPath (jsonpath_ng generates a whole LALR table per parse, 0.1-0.5 s on this
    machine, several times per state) and each definition (ANTLR, once per execution).
    Both parses are pure functions of their text: one JSONPath parser is built once
    and its results cached, and the definition's parse tree is cached, while the
    evaluation components are still built afresh per execution from that tree."""
    import functools
    import threading

    from jsonpath_ng.ext.parser import ExtendedJsonPathParser
    from jsonpath_ng.parser import JsonPathParser
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.asl.utils import json_path

    def shared(parser_class):
        parser, lock = parser_class(), threading.Lock()  # a PLY parser is not reentrant

        @functools.lru_cache(maxsize=4096)
        def parse(path):
            with lock:
                return parser.parse(path)

        return parse

    json_path.parse = shared(ExtendedJsonPathParser)
    result_path.parse = shared(JsonPathParser)

    parse = asl_parser.AmazonStateLanguageParser.parse
    trees, lock = {}, threading.Lock()

    def parse_cached(definition):
        with lock:
            tree = trees.get(definition)
        if tree is None:
            program, tree = parse(definition)  # raises on a syntax error: never cached
            with lock:
                if len(trees) >= 64:
                    trees.clear()
                trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse_cached)


def _after_import(name, patch):
    """Run patch once module name is imported: the Step Functions interpreter takes
    seconds to import, and a local cloud that never runs a state machine should not
    wait for it at start."""
    import importlib.abc
    import importlib.util

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            exec_module = spec.loader.exec_module

            def exec_then_patch(module):
                exec_module(module)
                patch()

            spec.loader.exec_module = exec_then_patch
            return spec

    sys.meta_path.insert(0, Hook())


_after_import("moto.stepfunctions.parser.asl.parse.asl_parser", _parse_once)


def _aws_entered_time():
    """$$.State.EnteredTime as Step Functions writes it, UTC to the millisecond with a
    Z (2019-03-26T20:14:13.192Z; Step Functions developer guide, "Context object"):
    moto writes Python's isoformat (microseconds, +00:00), and the state machine
    stores the value as updatedAt beside the Go writers' status.TimeLayout."""
    import datetime
    from moto.stepfunctions.parser.asl.component.state import state

    def state_data(**fields):
        entered = datetime.datetime.fromisoformat(fields["EnteredTime"]).astimezone(datetime.timezone.utc)
        fields["EnteredTime"] = entered.strftime("%Y-%m-%dT%H:%M:%S.") + f"{entered.microsecond // 1000:03d}Z"
        return fields

    state.StateData = state_data


_after_import("moto.stepfunctions.parser.asl.component.state.state", _aws_entered_time)


def _sdk_parameters_in_pascal_case():
    """AWS SDK integrations take their parameters in PascalCase even where the API is in
    camelCase ("Learning to use AWS service SDK integrations in Step Functions", API
    naming conventions). moto hands them to boto as written, so a camelCase API (Step
    Functions' own sendTaskSuccess) received none: each is mapped to the API's member."""
    import botocore.session
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
    )

    shapes = {}

    def input_shape(service, action):
        if (service, action) not in shapes:
            model = botocore.session.get_session().get_service_model(service)
            shapes[service, action] = model.operation_model(action[0].upper() + action[1:]).input_shape
        return shapes[service, action]

    def normalise(self, parameters, boto_service_name=None, service_action_name=None):
        action = service_action_name or self.resource.api_action
        self._to_boto_request(parameters, input_shape(self._get_boto_service_name(boto_service_name), action))

    sdk.StateTaskServiceAwsSdk._normalise_parameters = normalise

    # The error of an SDK integration is the service name and the service's error name,
    # with "Exception" appended where the name lacks it (same guide, error names); moto
    # named every service error "<Service>.<Service>Exception" after boto's ClientError.
    named = sdk.StateTaskServiceAwsSdk._normalise_exception_name

    def error_name(norm_service_name, ex):
        code = ex.response.get("Error", {}).get("Code", "") if isinstance(ex, ClientError) else ""
        if not code:
            return named(norm_service_name, ex)
        return f"{norm_service_name}.{code}" + ("" if code.endswith("Exception") else "Exception")

    sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(error_name)


_after_import("moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
              _sdk_parameters_in_pascal_case)

# --- profiling (performance work): LOCALCLOUD_PROFILE=file profiles every thread ---


def _profile_all_threads(path):
    """Profile every thread (moto serves each request and runs each execution in its
    own) and write the merged pstats to path when the local cloud stops moto."""
    import atexit
    import cProfile
    import pstats
    import threading

    merged, lock = [], threading.Lock()
    run = threading.Thread.run

    def profiled_run(self):
        p = cProfile.Profile()
        try:
            p.runcall(run, self)
        finally:
            with lock:
                if merged:
                    merged[0].add(p)
                else:
                    merged.append(pstats.Stats(p))

    def dump():
        with lock:
            if merged:
                merged[0].dump_stats(path)

    threading.Thread.run = profiled_run
    atexit.register(dump)  # moto's SIGTERM handler exits through sys.exit


# --- policy evaluation -------------------------------------------------------------

# IAM authorises a batch call as the action of its entries.
BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

ALLOW, DENY, NEUTRAL = "allow", "deny", "neutral"


def _as_list(v):
    return v if isinstance(v, list) else [v]


@functools.lru_cache(maxsize=256)
def _parse(document):
    return [s for s in _as_list(json.loads(document).get("Statement", []))]


def _matches(pattern, value, case_sensitive):
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _condition_holds(condition, context):
    for operator, keys in condition.items():
        for key, wanted in keys.items():
            actual = context.get(key)
            if actual is None:
                return False  # a key the request does not carry never matches
            wanted = _as_list(wanted)
            if operator == "StringEquals":
                ok = actual in wanted
            elif operator == "StringLike":
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                raise ValueError(f"localcloud: condition operator {operator} not modelled")
            if not ok:
                return False
    return True


def evaluate(documents, action, resource, context):
    """Explicit Deny wins, then any Allow; nothing allowed is an implicit deny."""
    decision = NEUTRAL
    for document in documents:
        for s in _parse(document):
            if not any(_matches(a, action, False) for a in _as_list(s.get("Action", []))):
                continue
            if not any(_matches(r, resource, True) for r in _as_list(s.get("Resource", []))):
                continue
            if not _condition_holds(s.get("Condition", {}), context):
                continue
            if s.get("Effect") == "Deny":
                return DENY
            decision = ALLOW
    return decision


def _documents(policies):
    out = []
    for p in policies:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, dict):
            out.append(p["policy_document"])
        else:  # a managed policy
            out.append(next(v.document for v in p.versions if v.is_default))
    return out


def _principal(account_id, access_key_id, headers):
    """The principal holding an access key, or None."""
    try:
        return access_control.create_access_key(account_id, "aws", access_key_id, headers)
    except access_control.CreateAccessKeyFailure:
        return None


def denial_message(principal_arn, action, resource):
    return (f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


def _request_context(path):
    query = parse_qs(urlparse(path).query)
    context = {}
    if "prefix" in query:
        context["s3:prefix"] = query["prefix"][0]
    return context


def _check_action_permitted(self, resource):
    action = BATCH_ACTIONS.get(self._action, self._action)
    if action == "sts:GetCallerIdentity":  # always allowed, as on AWS
        return
    documents = _documents(self._access_key.collect_policies())
    context = _request_context(self._path)
    for r in _as_list(resource):
        if evaluate(documents, action, r, context) != ALLOW:
            _deny(self, action, r)
    if action == "sts:AssumeRole":
        _check_trust(self, resource)


def _deny(request, action, resource):
    message = denial_message(request._access_key.arn, action, resource)
    if isinstance(request, access_control.S3IAMRequest):
        raise S3ClientError("AccessDenied", message)
    if "X-Amz-Target" in request._headers or "x-amz-target" in request._headers:
        raise JsonRESTError("AccessDeniedException", message)
    raise AccessDeniedError(user_arn=request._access_key.arn, action=f"{action} on resource: {resource}")


def _check_trust(request, role_arn):
    """The local runtime assumes each role as the service it is for, named by the
    session name: the role's trust policy must let that service assume it."""
    session = parse_qs(request._body.decode() if isinstance(request._body, bytes) else request._body or "")
    service = (session.get("RoleSessionName") or request._data.get("RoleSessionName") or [""])[0]
    try:
        role = request.backend.get_role_by_arn(role_arn)
    except Exception:
        _deny(request, "sts:AssumeRole", role_arn)
    for s in _as_list(json.loads(role.assume_role_policy_document).get("Statement", [])):
        services = _as_list(s.get("Principal", {}).get("Service", []))
        if s.get("Effect") == "Allow" and "sts:AssumeRole" in _as_list(s.get("Action", [])) and service in services:
            return
    raise AccessDeniedError(user_arn=request._access_key.arn,
                            action=f"sts:AssumeRole on resource: {role_arn} (its trust policy does not let {service or 'this caller'} assume it)")


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def _s3_request_as_signed(self):
    """moto rebuilds the request from the decoded path and query, but an S3 client signs
    them URI-encoded once (SigV4 for S3): encode them again before computing the
    signature."""
    request = _create_aws_request(self)
    path, sep, query = request.url.partition("?")
    encoded = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~")
                       for k, v in parse_qsl(query, keep_blank_values=True))
    request.url = quote(unquote(path), safe="/~") + sep + encoded
    return request


access_control.S3IAMRequest._create_aws_request = _s3_request_as_signed

# --- resources moto does not name itself -------------------------------------------

TABLE_ACTIONS_ON_INDEX = {"Query", "Scan"}


def _dynamodb_resource(self):
    body = self.body if isinstance(self.body, dict) else {}
    action = self._get_action()
    table = lambda name: f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{name}"
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [table(name) for name in body.get("RequestItems", {})] or "*"
    name = body.get("TableName")
    if not name:
        return "*"
    if action in TABLE_ACTIONS_ON_INDEX and body.get("IndexName"):
        return table(name) + "/index/" + body["IndexName"]
    return table(name)


DynamoHandler._determine_resource = _dynamodb_resource


def _stepfunctions_resource(self):
    try:
        body = json.loads(self.body) if isinstance(self.body, (str, bytes)) and self.body else {}
    except ValueError:
        body = {}
    if body.get("executionArn"):
        return body["executionArn"]
    if body.get("stateMachineArn"):
        return body["stateMachineArn"]
    if self._get_action() == "CreateStateMachine" and body.get("name"):
        return f"arn:aws:states:{self.region}:{self.current_account}:stateMachine:{body['name']}"
    return "*"


StepFunctionResponse._determine_resource = _stepfunctions_resource

_sqs_resource = SQSResponse._determine_resource


def _sqs_queue_resource(self):
    """GetQueueUrl names its queue by name (and owner), not by URL: moto resolves only
    the URL form; SQS authorises GetQueueUrl on the queue ARN."""
    if self._get_action() == "GetQueueUrl" and self._get_param("QueueName"):
        owner = self._get_param("QueueOwnerAWSAccountId") or self.current_account
        return f"arn:aws:sqs:{self.region}:{owner}:{self._get_param('QueueName')}"
    return _sqs_resource(self)


SQSResponse._determine_resource = _sqs_queue_resource

# --- S3: 403 for a missing key unless the caller may list the bucket ----------------


def _missing_key_as_s3_does(handler):
    @functools.wraps(handler)
    def wrapped(self, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except MissingKey:
            _raise_unless_listable(self)
            raise
    return wrapped


def _raise_unless_listable(response):
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return  # access control not on yet
    key_id = _access_key_id(response.headers.get("Authorization", ""))
    principal = _principal(response.current_account, key_id, response.headers) if key_id else None
    if principal is None:
        return
    bucket = f"arn:aws:s3:::{response.bucket_name}"
    if evaluate(_documents(principal.collect_policies()), "s3:ListBucket", bucket, {}) != ALLOW:
        raise S3ClientError("AccessDenied", denial_message(principal.arn, "s3:ListBucket", bucket) +
                            " (S3 answers a missing key with 403 to a caller that may not list the bucket)")


for _name in ("_key_response_get", "_key_response_head"):
    if hasattr(S3Response, _name):
        setattr(S3Response, _name, _missing_key_as_s3_does(getattr(S3Response, _name)))

# --- Step Functions service integrations sign with the state machine's role ---------

_role_credentials = {}
_role_lock = threading.Lock()


def _credentials_of(role_arn, region):
    with _role_lock:
        if role_arn not in _role_credentials:
            account = role_arn.split(":")[4]
            iam_backends[account]["aws"].get_role_by_arn(role_arn)  # fails for an unknown role
            role = sts_backends[account]["aws"].assume_role(
                region_name=region, role_session_name="states.amazonaws.com", role_arn=role_arn,
                policy=None, duration=43200, external_id=None)
            _role_credentials[role_arn] = (role.access_key_id, role.secret_access_key, role.session_token)
        return _role_credentials[role_arn]


def _boto_client_for(region, service, state_credentials=None):
    role_arn = getattr(state_credentials, "role_arn", None)
    if not role_arn:
        raise RuntimeError("localcloud: a state machine task has no role to sign with")
    try:
        key, secret, token = _credentials_of(role_arn, region)
    except Exception as e:
        raise RuntimeError(f"localcloud: state machine role {role_arn} cannot be assumed "
                           f"(provision it with the state machine): {e}") from e
    return boto3.client(
        service_name=service, region_name=region,
        endpoint_url=f"http://localhost:{os.environ['MOTO_PORT']}",
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        # moto's own settings: no retries, and its task timeout (a Lambda task may run long).
        config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                      connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                      read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
    )


def _patch_boto_client_for():
    sfn_boto_client.boto_client_for = _boto_client_for
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is not None and module.__name__.startswith("moto.stepfunctions"):
            module.boto_client_for = _boto_client_for


# --- the gateway's authorizer -------------------------------------------------------

_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def _access_key_id(authorization):
    m = _ACCESS_KEY.search(authorization or "")
    return m.group(1) if m else None


OPERATOR = "localcloud-operator"


def _create_operator(account, key_id, secret):
    """The operator is the deployer's user (Pulumi, enrichctl): allowed everything, with
    the well-known local keys, so tools pointed at the local cloud keep working."""
    backend = iam_backends[account]["aws"]
    backend.create_user(region_name="us-east-1", user_name=OPERATOR)
    backend.put_user_policy(OPERATOR, "operator",
                            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
    key = backend.create_access_key(OPERATOR)
    key.access_key_id, key.secret_access_key = key_id, secret


class _Authorizer(BaseHTTPRequestHandler):
    """POST /authorize {"account", "authorization", "token", "action", "resource"} → 200
    when allowed, 403 {"principal", "message"} when not. POST /operator {"account",
    "key", "secret"} creates the operator user."""

    def do_POST(self):
        q = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path == "/operator":
            _create_operator(q["account"], q["key"], q["secret"])
            self._answer(200, {})
            return
        key_id = _access_key_id(q.get("authorization"))
        headers = {"X-Amz-Security-Token": q["token"]} if q.get("token") else {}
        principal = _principal(q["account"], key_id, headers) if key_id else None
        if principal is None:
            self._answer(403, {"message": "The security token included in the request is invalid."})
            return
        documents = _documents(principal.collect_policies())
        if evaluate(documents, q["action"], q["resource"], {}) == ALLOW:
            self._answer(200, {"principal": principal.arn})
            return
        self._answer(403, {"principal": principal.arn,
                           "message": denial_message(principal.arn, q["action"], q["resource"])})

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _serve_authorizer(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), _Authorizer)
    threading.Thread(target=server.serve_forever, daemon=True).start()


if __name__ == "__main__":
    if os.environ.get("LOCALCLOUD_PROFILE"):
        _profile_all_threads(os.environ["LOCALCLOUD_PROFILE"])
    _patch_boto_client_for()
    if os.environ.get("LOCALCLOUD_AUTHORIZER_PORT"):
        _serve_authorizer(int(os.environ["LOCALCLOUD_AUTHORIZER_PORT"]))
    main(sys.argv[1:])
