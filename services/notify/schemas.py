"""marshmallow schemas for notify's RPC input (shape only; the domain modules check the rules)."""
from marshmallow import EXCLUDE, Schema, fields, validate

SENDER_RULE = validate.Regexp(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$",
                              error="Gebruik 1 tot 11 letters, cijfers of spaties, met minstens één letter.")


class SendSmsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    firm_id = fields.Integer(required=True)
    to = fields.String(required=True, validate=validate.Length(max=40))
    body = fields.String(required=True)  # emptiness and length are checked (and recorded) by sms.py
    key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    purpose = fields.String(load_default="notification", validate=validate.Length(min=1, max=40))
    sender = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class SendEmailSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    firm_id = fields.Integer(load_default=None, allow_none=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    to = fields.String(required=True, validate=validate.Length(max=254))
    subject = fields.String(required=True, validate=validate.Length(max=300))
    text = fields.String(load_default="")
    html = fields.String(load_default=None, allow_none=True)
    key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # held unsent until identity confirms (mails_confirmed) that the change issuing its secret committed
    hold = fields.Boolean(load_default=False)


class SendEmailsSchema(Schema):
    mails = fields.List(fields.Nested(SendEmailSchema), required=True, validate=validate.Length(min=1, max=1000))


class MailsConfirmedSchema(Schema):
    """identity's ``mails_confirmed`` event."""
    class Meta:
        unknown = EXCLUDE

    keys = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                       validate=validate.Length(min=1))


class SmsSettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # read-only figures of the GET answer (sent_today, backend, ...) are ignored

    enabled = fields.Boolean()
    sender = fields.String(allow_none=True, validate=SENDER_RULE)
    daily_cap = fields.Integer(validate=validate.Range(min=0, max=100000))
    approval_sms = fields.Boolean()


class StatusCallbackSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    MessageSid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    MessageStatus = fields.String(required=True, validate=validate.Length(max=30))
    ErrorCode = fields.String(load_default=None, allow_none=True)
    ErrorMessage = fields.String(load_default=None, allow_none=True)
    message_id = fields.Integer(load_default=None, allow_none=True)  # from the callback URL we gave twilio


# news.post strips title and body: one of only spaces would be stored empty
NOT_BLANK = validate.Regexp(r"\s*\S", error="Vul dit veld in.")  # matched from the start


class PostNewsSchema(Schema):
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])
    body = fields.String(required=True, validate=[validate.Length(min=1, max=20000), NOT_BLANK])
    branch_id = fields.Integer(allow_none=True)  # absent: the poster's own branch (or firm-wide); null: firm-wide


class ListNewsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SmsListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["queued", "sent", "delivered", "failed", "undelivered"]))


class RequestOpenedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    request_id = fields.Integer(required=True)
    firm_id = fields.Integer(required=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    client_id = fields.Integer(load_default=None, allow_none=True)
    document_type = fields.String(load_default="")
    title = fields.String(load_default="")
    approver_user_ids = fields.List(fields.Integer(), load_default=list)


class RequestDecidedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    request_id = fields.Integer(required=True)
    firm_id = fields.Integer(required=True)
    branch_id = fields.Integer(load_default=None, allow_none=True)
    client_id = fields.Integer(load_default=None, allow_none=True)
    document_type = fields.String(load_default="")
    title = fields.String(load_default="")
    by_user_id = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)
