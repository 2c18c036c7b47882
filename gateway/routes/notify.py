"""Routes served by the notify service: SMS settings, news, twilio's status callback,
and the developer outbox pages (only with AKKOORD_DEV_PAGES=1)."""
import html
import os

from marshmallow import EXCLUDE, Schema, fields
from twilio.request_validator import RequestValidator
from werkzeug.wrappers import Response

from chassis import config
from gateway.api import json_response, route
from gateway.errors import error_response, register_remote_errors

register_remote_errors({
    "notify.exceptions.SmsRefused": (422, "sms_refused"),
    "notify.exceptions.SmsLimitReached": (429, "sms_limit"),
    "notify.exceptions.SmsFailed": (422, "sms_failed"),
    "notify.exceptions.EmailRefused": (422, "email_refused"),
    "notify.exceptions.EmailFailed": (422, "email_failed"),
    "notify.exceptions.InvalidSignature": (403, "invalid_signature"),
    "notify.exceptions.NewsNotAllowed": (403, "forbidden"),
    "notify.exceptions.BranchNotFound": (404, "branch_not_found"),
    "notify.exceptions.DevPageDisabled": (404, "not_found"),
    "notify.exceptions.CarrierUnavailable": (503, "unavailable"),
})

STATUS_CALLBACK_PATH = "/api/v1/notify/twilio/status"


class SmsSettingsIn(Schema):
    class Meta:
        unknown = EXCLUDE  # a GET answer may be PUT back: its read-only figures are ignored

    enabled = fields.Boolean()
    sender = fields.String(allow_none=True)
    daily_cap = fields.Integer(metadata={"description": "Maximum aantal sms-meldingen per dag; codes (inloggen, "
                                                        "accorderen, nieuw nummer) gaan altijd door, met hun eigen "
                                                        "grens per nummer"})
    approval_sms = fields.Boolean()


class SmsSettingsOut(Schema):
    enabled = fields.Boolean()
    sender = fields.String(allow_none=True)
    daily_cap = fields.Integer()
    approval_sms = fields.Boolean()
    codes_per_number = fields.Integer()
    code_window_minutes = fields.Integer()
    max_length = fields.Integer()
    sent_today = fields.Integer()
    backend = fields.String()


class SmsMessageOut(Schema):
    id = fields.Integer()
    to = fields.String()
    sender = fields.String(allow_none=True)
    purpose = fields.String()
    backend = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    error_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class SmsMessagesOut(Schema):
    items = fields.List(fields.Nested(SmsMessageOut))
    total = fields.Integer()


class SmsMessagesQuery(Schema):
    page = fields.Integer(load_default=1)
    per_page = fields.Integer(load_default=50)
    status = fields.String(load_default=None)


class NewsIn(Schema):
    title = fields.String(required=True)
    body = fields.String(required=True)
    branch_id = fields.Integer(allow_none=True)


class NewsOut(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    branch_id = fields.Integer(allow_none=True)
    author_user_id = fields.Integer(allow_none=True)
    created_at = fields.String()


class NewsListOut(Schema):
    items = fields.List(fields.Nested(NewsOut))
    total = fields.Integer()


class NewsQuery(Schema):
    page = fields.Integer(load_default=1)
    per_page = fields.Integer(load_default=20)


def _signature_ok(request) -> bool:
    """twilio signs the exact URL it was given plus the sorted form fields."""
    token = config.load().twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    params = request.form.to_dict()
    candidates = [request.url]
    public = os.environ.get("AKKOORD_PUBLIC_URL")
    if public:
        query = request.query_string.decode()
        candidates.append(public.rstrip("/") + request.path + (f"?{query}" if query else ""))
    return any(validator.validate(url, params, signature) for url in candidates)


def _outbox_html(title: str, rows: list[dict], columns: list[tuple[str, str]]) -> Response:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row.get(key) if row.get(key) is not None else ''))}</td>"
                         for key, _ in columns) + "</tr>" for row in rows)
    page = (f"<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top;"
            "white-space:pre-wrap}</style></head>"
            f"<body><h1>{html.escape(title)}</h1><p>Alleen voor ontwikkeling en demo's: deze berichten zijn "
            f"niet echt verstuurd.</p><table><tr>{head}</tr>{body}</table></body></html>")
    return Response(page, mimetype="text/html")


def _wants_json(request) -> bool:
    return request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json"


class NotifyRoutes:
    # -- SMS settings of the firm ------------------------------------------------------
    @route("GET", "/api/v1/settings/sms", summary="SMS-instellingen van het kantoor", tags=["settings"],
           response=SmsSettingsOut())
    def get_sms_settings(self, request, ctx):
        return self.notify.get_sms_settings(principal=ctx.principal)

    @route("PUT", "/api/v1/settings/sms", summary="SMS-instellingen wijzigen (Beheer)", tags=["settings"],
           body=SmsSettingsIn(), response=SmsSettingsOut())
    def put_sms_settings(self, request, ctx):
        return self.notify.put_sms_settings(principal=ctx.principal, payload=ctx.body)

    @route("GET", "/api/v1/settings/sms/messages", summary="Verstuurde sms-berichten met status en foutreden (Beheer)",
           tags=["settings"], query=SmsMessagesQuery(), response=SmsMessagesOut())
    def list_sms_messages(self, request, ctx):
        return self.notify.list_sms_messages(principal=ctx.principal, query=ctx.query)

    # -- news -------------------------------------------------------------------------
    @route("GET", "/api/v1/news", summary="Nieuwsberichten: kantoorbreed en van uw vestiging(en), nieuwste eerst",
           tags=["news"], query=NewsQuery(), response=NewsListOut())
    def list_news(self, request, ctx):
        return self.notify.list_news(principal=ctx.principal, query=ctx.query)

    @route("POST", "/api/v1/news", summary="Nieuwsbericht plaatsen voor één vestiging of kantoorbreed",
           tags=["news"], body=NewsIn(), response=NewsOut(), status=201)
    def post_news(self, request, ctx):
        return self.notify.post_news(principal=ctx.principal, payload=ctx.body)

    # -- twilio status callback ------------------------------------------------------------
    @route("POST", STATUS_CALLBACK_PATH, summary="Afleverstatus van twilio (met X-Twilio-Signature)",
           tags=["notify"], auth="none", content="application/x-www-form-urlencoded", status=204)
    def twilio_status(self, request, ctx):
        if not _signature_ok(request):
            return error_response(403, "invalid_signature", "Ongeldige of ontbrekende X-Twilio-Signature.")
        payload = request.form.to_dict()
        if "message_id" in request.args:  # our id in the (signed) callback URL: found before its SID is stored
            payload["message_id"] = request.args["message_id"]
        self.notify.record_sms_status(payload=payload)
        return None, 204

    # -- developer pages -------------------------------------------------------------------
    # Anonymous and across all firms (they show login and approval codes), so served only when
    # AKKOORD_DEV_PAGES turns them on (make demo, tests); otherwise they do not exist.
    @route("GET", "/dev/sms", summary="Ontwikkelpagina: SMS-berichten in de outbox (alleen met AKKOORD_DEV_PAGES=1, "
                                      "niet met twilio)", tags=["dev"], auth="none", produces="text/html")
    def dev_sms(self, request, ctx):
        settings = config.load()
        if not settings.dev_pages or settings.sms_backend == "twilio":
            return _no_such_route()
        rows = self.notify.dev_sms_outbox(limit=200)
        if _wants_json(request):
            return json_response({"items": rows})
        return _outbox_html("SMS-outbox", rows, [("created_at", "Tijd"), ("to", "Aan"), ("sender", "Afzender"),
                                                 ("purpose", "Doel"), ("status", "Status"), ("body", "Bericht")])

    @route("GET", "/dev/mail", summary="Ontwikkelpagina: e-mails in de outbox (alleen met AKKOORD_DEV_PAGES=1)",
           tags=["dev"], auth="none", produces="text/html")
    def dev_mail(self, request, ctx):
        if not config.dev_pages():
            return _no_such_route()
        rows = self.notify.dev_mail_outbox(limit=200)
        if _wants_json(request):
            return json_response({"items": rows})
        return _outbox_html("E-mail-outbox", rows, [("created_at", "Tijd"), ("to", "Aan"),
                                                    ("sender_name", "Afzender"), ("subject", "Onderwerp"),
                                                    ("status", "Status"), ("text", "Tekst")])


def _no_such_route():
    """The same 404 as a path no route matches, so a disabled page does not show it exists."""
    return error_response(404, "not_found", "Deze route bestaat niet.")
