"""A local fake of twilio's Messages API, reached through TWILIO_API_BASE.

It accepts what twilio documents for ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``:
form fields To, From or MessagingServiceSid, Body, StatusCallback, with HTTP basic auth
(account SID and auth token), and answers like twilio: 201 with JSON ``{sid, status, ...}``
or an error ``{code, message, more_info, status}``. Tests script answers (``fail_next``)
and read what arrived (``received``). ``report_status`` plays twilio's status callback:
a form POST to the message's StatusCallback, signed with X-Twilio-Signature.
``call_back_before_answer`` plays twilio calling back before its 201 has reached us, and
``accept_slowly`` a message twilio took whose answer comes after our timeout.
"""
import base64
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import eventlet
import requests
from twilio.request_validator import RequestValidator

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


class FakeTwilio:
    def __init__(self, account_sid="AC" + "0" * 32, auth_token="fake-twilio-auth-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.received: list[dict] = []
        self.script: list[tuple] = []  # (status, body dict, delay seconds) answers for the next requests
        self.early: list[str] = []  # statuses reported for the next accepted message before answering it
        self.accept_delay = 0.0  # seconds the next accepted message waits for its 201
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = None

    # -- control -----------------------------------------------------------------
    def start(self):
        self._thread = eventlet.spawn(self.server.serve_forever, 0.05)
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict:
        return {"AKKOORD_SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": self.account_sid,
                "TWILIO_AUTH_TOKEN": self.auth_token, "TWILIO_FROM": "+3197010000000",
                "TWILIO_API_BASE": self.base_url}

    def fail_next(self, status: int, code: int | None = None, message: str = "", times: int = 1, delay: float = 0):
        body = {"code": code or status, "message": message or "error", "more_info": "", "status": status}
        with self.lock:
            self.script.extend([(status, body, delay)] * times)

    def call_back_before_answer(self, *statuses: str):
        """The next accepted message: its status callbacks reach the portal before the 201 reaches us
        (twilio can call back within milliseconds). The portal's answers land in record["early"]."""
        with self.lock:
            self.early = list(statuses)

    def accept_slowly(self, delay: float):
        """The next message is accepted (it has a sid, the SMS goes out), but the 201 comes after ``delay``."""
        with self.lock:
            self.accept_delay = delay

    def messages(self, to: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.received if to is None or r["form"].get("To") == to]

    def report_status(self, sid: str, status: str, error_code: str | None = None, signature: str | None = None,
                      post_to: str | None = None):
        """Play twilio's status callback for message ``sid``; returns the gateway's response.
        ``post_to`` stands in for the proxy in front of a public StatusCallback URL."""
        message = next(r for r in self.received if r.get("sid") == sid)
        return self._call_back(message, status, error_code, signature, post_to)

    def _call_back(self, message, status, error_code=None, signature=None, post_to=None):
        sid = message["sid"]
        url = message["form"]["StatusCallback"]
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": self.account_sid,
                  "To": message["form"]["To"], "ApiVersion": "2010-04-01", "SmsSid": sid, "SmsStatus": status}
        if error_code:
            params["ErrorCode"] = error_code
        if signature is None:
            signature = RequestValidator(self.auth_token).compute_signature(url, params)
        if post_to and urlsplit(url).query:  # the proxy passes the query on with the request
            post_to = f"{post_to}?{urlsplit(url).query}"
        return requests.post(post_to or url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)

    # -- the HTTP side --------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                auth = self.headers.get("Authorization", "")
                user = password = None
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                record = {"path": self.path, "form": form, "user": user, "password": password,
                          "content_type": self.headers.get("Content-Type")}
                match = PATH.match(self.path)
                if not match:
                    return self._answer(404, {"code": 20404, "message": "The requested resource was not found",
                                              "status": 404})
                if user != fake.account_sid or password != fake.auth_token or match["sid"] != fake.account_sid:
                    return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                with fake.lock:
                    scripted = fake.script.pop(0) if fake.script else None
                    fake.received.append(record)
                if scripted:
                    status, body, delay = scripted
                    if delay:
                        eventlet.sleep(delay)
                    record["answer"] = status
                    return self._answer(status, body)
                if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
                    record["answer"] = 400
                    return self._answer(400, {"code": 21604, "message": "A 'To' and 'From' are required.",
                                              "status": 400})
                if not re.match(r"^\+[1-9]\d{6,14}$", form["To"]):
                    record["answer"] = 400
                    return self._answer(400, {"code": 21211, "status": 400,
                                              "message": f"The 'To' number {form['To']} is not a valid phone number."})
                sid = "SM" + uuid.uuid4().hex
                record["sid"], record["answer"] = sid, 201
                with fake.lock:
                    early, fake.early = fake.early, []
                    delay, fake.accept_delay = fake.accept_delay, 0.0
                record["early"] = [fake._call_back(record, status).status_code for status in early]
                if delay:
                    eventlet.sleep(delay)
                return self._answer(201, {"sid": sid, "status": "queued", "to": form["To"],
                                          "from": form.get("From"), "body": form.get("Body"),
                                          "account_sid": fake.account_sid, "num_segments": "1",
                                          "direction": "outbound-api", "api_version": "2010-04-01",
                                          "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json"})

        return Handler
