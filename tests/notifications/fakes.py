"""Local fake servers for every channel's provider (threaded http.server on 127.0.0.1, never the internet).

Each one checks a request the way its provider documents and answers the way the provider does: the signature
is recomputed from the request as it arrived (DingTalk's HMAC-SHA256 sign, Alibaba's ACS3-HMAC-SHA256 V3
signature, Tencent's TC3-HMAC-SHA256, our webhook's HMAC header), the body's fields are checked, and a wrong
one gets the provider's error answer. `fail_next(n, how)` makes the next n requests fail ("error": the provider's
refusal, "http500", or "slow": no answer within the client's timeout). Every request is kept in `requests` with
`valid` telling whether it passed the provider's checks.
"""
import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit


class Recorded(dict):
    """One request: method, path, query (dict), headers (lower-case dict), body (bytes), valid, problem."""

    @property
    def text(self):
        return self["body"].decode("utf-8", "replace") + " " + json.dumps(self["query"], ensure_ascii=False)


class FakeServer:
    name = "fake"

    def __init__(self):
        self.requests: list[Recorded] = []
        self.failures: list[str] = []
        self.slow_seconds = 3.0
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server._handle(self)

            def do_POST(self):
                server._handle(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name=f"fake-{self.name}").start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, count=1, how="error"):
        with self.lock:
            self.failures.extend([how] * count)

    def wait_for(self, count, timeout=10.0):
        """Block until `count` requests arrived (or the timeout); returns them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.requests)

    @property
    def valid(self):
        return [r for r in self.requests if r["valid"]]

    def _handle(self, handler):
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Recorded(method=handler.command, path=parts.path, raw_query=parts.query,
                           query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                           headers={k.lower(): v for k, v in handler.headers.items()}, body=body,
                           at=time.time(), valid=False, problem="")
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        problem = self.check(request)
        request["valid"], request["problem"] = problem is None, problem or ""
        if failure == "slow":
            time.sleep(self.slow_seconds)
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()
        if failure == "http500":
            status, answer = 500, {"message": "internal error"}
        elif problem is not None:
            status, answer = self.refusal(request, problem)
        elif failure in ("error", "slow"):
            status, answer = self.refusal(request, "scripted failure")
        else:
            status, answer = self.success(request)
        data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout)

    content_type = "application/json"

    def check(self, request):  # None when the request is as the provider documents it, else the problem
        return None

    def success(self, request):
        return 200, {}

    def refusal(self, request, problem):
        return 400, {"error": problem}


def _json(request):
    try:
        return json.loads(request["body"].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


# --- WeCom: group robots and the application message API ---------------------------------------------------

class FakeWeCom(FakeServer):
    """qyapi.weixin.qq.com: /cgi-bin/webhook/send?key=…, /cgi-bin/gettoken and /cgi-bin/message/send."""
    name = "wecom"
    content_type = "application/json; charset=UTF-8"

    def __init__(self, robot_keys=("robot-key-1",), corp_id="ww-corp", corp_secret="corp-secret", agent_id=1000002,
                 users=("zhang.laoshi",)):
        self.robot_keys, self.corp_id, self.corp_secret = set(robot_keys), corp_id, corp_secret
        self.agent_id, self.users, self.tokens = agent_id, set(users), set()
        super().__init__()

    def check(self, request):
        path, query, body = request["path"], request["query"], _json(request)
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.corp_id or query.get("corpsecret") != self.corp_secret:
                return "40001 invalid credential"
            return None
        if request["method"] != "POST" or body is None:
            return "44004 empty content or not JSON"
        if path == "/cgi-bin/webhook/send":
            if query.get("key") not in self.robot_keys:
                return "93000 invalid webhook url"
            if body.get("msgtype") != "text" or not body.get("text", {}).get("content"):
                return "40008 invalid message type"
            return None
        if path == "/cgi-bin/message/send":
            if query.get("access_token") not in self.tokens:
                return "40014 invalid access_token"
            if body.get("agentid") != self.agent_id:
                return "40056 invalid agentid"
            if body.get("msgtype") != "text" or not body.get("text", {}).get("content") or not body.get("touser"):
                return "40008 invalid message type"
            return None
        return "404 no such API"

    def success(self, request):
        if request["path"] == "/cgi-bin/gettoken":
            token = f"token-{len(self.tokens) + 1}"
            self.tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if request["path"] == "/cgi-bin/message/send":
            body = _json(request)
            unknown = "|".join(u for u in body["touser"].split("|") if u not in self.users)
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": unknown, "msgid": "msg-1"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def refusal(self, request, problem):
        if problem == "scripted failure":
            problem = "45009 api freq out of limit"
        code, _, text = problem.partition(" ")
        return 200, {"errcode": int(code), "errmsg": text}

    def robot_messages(self):
        return [r for r in self.valid if r["path"] == "/cgi-bin/webhook/send"]

    def app_messages(self):
        return [r for r in self.valid if r["path"] == "/cgi-bin/message/send"]


# --- DingTalk custom robot, signed mode ----------------------------------------------------------------------

class FakeDingTalk(FakeServer):
    """oapi.dingtalk.com/robot/send?access_token=…&timestamp=…&sign=…, with the 加签 secret checked."""
    name = "dingtalk"

    def __init__(self, access_token="ding-token", secret="SEC-ding-secret"):
        self.access_token, self.secret = access_token, secret
        super().__init__()

    def check(self, request):
        query, body = request["query"], _json(request)
        if request["path"] != "/robot/send" or query.get("access_token") != self.access_token:
            return "300001 token is not exist"
        timestamp = query.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
            return "310000 sign not match: timestamp more than an hour away"
        # DingTalk's documented check: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), URL-encoded.
        expected = base64.b64encode(hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(query.get("sign", ""), expected):  # parse_qsl already URL-decoded it
            return "310000 sign not match"
        if body is None or body.get("msgtype") != "text" or not body.get("text", {}).get("content"):
            return "40035 missing parameter"
        return None

    def success(self, request):
        return 200, {"errcode": 0, "errmsg": "ok"}

    def refusal(self, request, problem):
        if problem == "scripted failure":
            problem = "130101 send too fast"
        code, _, text = problem.partition(" ")
        return 200, {"errcode": int(code), "errmsg": text}


# --- Alibaba Cloud SMS (dysmsapi 2017-05-25), V3 signature ---------------------------------------------------

def _acs_encode(value):
    return quote(value, safe="-_.~")


class FakeAliyunSms(FakeServer):
    """dysmsapi.aliyuncs.com SendSms: recomputes the ACS3-HMAC-SHA256 signature (Alibaba's "V3 request structure
    and signature" page) from the method, path, query, the signed headers and the body's SHA-256."""
    name = "aliyun"

    def __init__(self, key_id="LTAI-test", key_secret="aliyun-secret", sign_name="心桥", templates=("SMS_1", "SMS_2")):
        self.key_id, self.key_secret, self.sign_name, self.templates = key_id, key_secret, sign_name, set(templates)
        super().__init__()

    def check(self, request):
        headers = request["headers"]
        auth = headers.get("authorization", "")
        if not auth.startswith("ACS3-HMAC-SHA256 "):
            return "IncompleteSignature"
        fields = dict(part.split("=", 1) for part in auth[len("ACS3-HMAC-SHA256 "):].split(","))
        if fields.get("Credential") != self.key_id:
            return "InvalidAccessKeyId.NotFound"
        signed = fields.get("SignedHeaders", "").split(";")
        if not {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce",
                "x-acs-version"} <= set(signed) or signed != sorted(signed):
            return "IncompleteSignature"
        if hashlib.sha256(request["body"]).hexdigest() != headers.get("x-acs-content-sha256"):
            return "SignatureDoesNotMatch"
        at = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if abs((datetime.now(timezone.utc) - at).total_seconds()) > 900:
            return "InvalidTimeStamp.Expired"
        pairs = sorted(parse_qsl(request["raw_query"], keep_blank_values=True))
        canonical_query = "&".join(f"{_acs_encode(k)}={_acs_encode(v)}" for k, v in pairs)
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
        canonical = "\n".join([request["method"], request["path"] or "/", canonical_query, canonical_headers,
                               ";".join(signed), headers["x-acs-content-sha256"]])
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        expected = hmac.new(self.key_secret.encode(), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(fields.get("Signature", ""), expected):
            return "SignatureDoesNotMatch"
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return "InvalidAction.NotFound"
        params = dict(request["query"], **dict(parse_qsl(request["body"].decode("utf-8"))))
        request["params"] = params
        if not params.get("PhoneNumbers", "").isdigit():
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if params.get("SignName") != self.sign_name:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        if params.get("TemplateCode") not in self.templates:
            return "isv.SMS_TEMPLATE_ILLEGAL"
        try:
            json.loads(params.get("TemplateParam", ""))
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        return None

    def success(self, request):
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"900{len(self.requests)}", "RequestId": "req-ok"}

    def refusal(self, request, problem):
        if problem in ("IncompleteSignature", "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound",
                       "InvalidTimeStamp.Expired", "InvalidAction.NotFound"):
            return 400, {"Code": problem, "Message": problem, "RequestId": "req-refused"}
        if problem == "scripted failure":
            problem = "isv.BUSINESS_LIMIT_CONTROL"
        return 200, {"Code": problem, "Message": "refused", "RequestId": "req-refused"}

    def messages(self):
        return [r for r in self.valid]


# --- Tencent Cloud SMS (2021-01-11), TC3-HMAC-SHA256 ---------------------------------------------------------

def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class FakeTencentSms(FakeServer):
    """sms.tencentcloudapi.com SendSms: recomputes TC3-HMAC-SHA256 (Tencent's "签名方法 v3" page) from the
    canonical request, the credential scope and the key derived from the SecretKey, the date and the service."""
    name = "tencent"

    def __init__(self, secret_id="AKID-test", secret_key="tencent-secret", app_id="1400000001", sign_name="心桥",
                 templates=("1001", "1002")):
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id
        self.sign_name, self.templates = sign_name, set(templates)
        super().__init__()

    def check(self, request):
        headers = request["headers"]
        auth = headers.get("authorization", "")
        if not auth.startswith("TC3-HMAC-SHA256 "):
            return "AuthFailure.SignatureFailure"
        fields = dict(part.strip().split("=", 1) for part in auth[len("TC3-HMAC-SHA256 "):].split(","))
        secret_id, date, service, terminator = (fields.get("Credential", "").split("/") + ["", "", "", ""])[:4]
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        timestamp = headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return "AuthFailure.SignatureExpire"
        if date != datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d") or service != "sms" \
                or terminator != "tc3_request":
            return "AuthFailure.SignatureFailure"
        signed = fields.get("SignedHeaders", "").split(";")
        if "content-type" not in signed or "host" not in signed:
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower() if name == 'x-tc-action' else headers.get(name, '').strip()}\n"
                                    for name in signed)
        canonical = "\n".join([request["method"], request["path"] or "/", request["raw_query"] if request["method"] == "GET" else "",
                               canonical_headers, ";".join(signed), hashlib.sha256(request["body"]).hexdigest()])
        scope = f"{date}/{service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode("utf-8"), date), service), "tc3_request")
        if not hmac.compare_digest(fields.get("Signature", ""), hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()):
            return "AuthFailure.SignatureFailure"
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return "InvalidAction"
        body = _json(request)
        request["params"] = body
        if not body or body.get("SmsSdkAppId") != self.app_id:
            return "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
        if body.get("SignName") != self.sign_name:
            return "FailedOperation.SignatureIncorrectOrUnapproved"
        if body.get("TemplateId") not in self.templates:
            return "FailedOperation.TemplateIncorrectOrUnapproved"
        numbers = body.get("PhoneNumberSet") or []
        if not numbers or not all(n.startswith("+86") and n[3:].isdigit() for n in numbers):
            return "InvalidParameterValue.IncorrectPhoneNumber"
        if not all(isinstance(p, str) for p in body.get("TemplateParamSet") or []):
            return "InvalidParameterValue.TemplateParameterFormatError"
        return None

    def success(self, request):
        numbers = request["params"]["PhoneNumberSet"]
        return 200, {"Response": {"SendStatusSet": [
            {"SerialNo": f"2640:{len(self.requests)}", "PhoneNumber": n, "Fee": 1, "SessionContext": "",
             "Code": "Ok", "Message": "send success", "IsoCode": "CN"} for n in numbers], "RequestId": "req-ok"}}

    def refusal(self, request, problem):
        if problem == "scripted failure":  # a per-number refusal, as Tencent answers a daily limit
            numbers = (request.get("params") or {}).get("PhoneNumberSet") or ["+86"]
            return 200, {"Response": {"SendStatusSet": [
                {"SerialNo": "", "PhoneNumber": n, "Fee": 0, "SessionContext": "", "IsoCode": "CN",
                 "Code": "LimitExceeded.PhoneNumberDailyLimit", "Message": "daily limit"} for n in numbers],
                "RequestId": "req-limit"}}
        return 200, {"Response": {"Error": {"Code": problem, "Message": problem}, "RequestId": "req-refused"}}


# --- the generic webhook ----------------------------------------------------------------------------------------

class FakeWebhook(FakeServer):
    """A hospital's own system: checks X-XinQiao-Signature = sha256=HMAC-SHA256(secret, timestamp + "." + body)."""
    name = "webhook"

    def __init__(self, secret="hospital-webhook-secret"):
        self.secret = secret
        super().__init__()

    def check(self, request):
        headers = request["headers"]
        timestamp = headers.get("x-xinqiao-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return "stale or missing timestamp"
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + request["body"],
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-xinqiao-signature", ""), expected):
            return "bad signature"
        body = _json(request)
        if not body or not body.get("event") or body.get("event") != headers.get("x-xinqiao-event") \
                or str(body.get("delivery_id")) != headers.get("x-xinqiao-delivery"):
            return "bad body"
        return None

    def success(self, request):
        return 200, {"received": True}

    def refusal(self, request, problem):
        return (401 if "signature" in problem or "timestamp" in problem else 503), {"error": problem}
