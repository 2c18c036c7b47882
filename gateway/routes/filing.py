"""Routes served by the filing service: deponeren of approved annual accounts."""
from marshmallow import Schema, fields, validate

from gateway.api import route
from gateway.errors import register_remote_errors

register_remote_errors({
    "filing.exceptions.FilingNotFound": (404, "filing_not_found"),
    "filing.exceptions.NotAnnualAccounts": (422, "not_annual_accounts"),
    "filing.exceptions.AlreadyFiled": (409, "already_filed"),
    "filing.exceptions.NotAllowed": (403, "forbidden"),
    "filing.exceptions.ChannelUnavailable": (503, "channel_unavailable"),
})

ID = validate.Range(min=1, max=2**31 - 1)


class FileIn(Schema):
    approval_id = fields.Integer(required=True, strict=True, validate=ID)


class FilingsQuery(Schema):
    client_id = fields.Integer(load_default=None, validate=ID)
    status = fields.String(load_default=None,
                           validate=validate.OneOf(["queued", "submitted", "accepted", "rejected", "failed"]))


class FilingOut(Schema):
    id = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    message = fields.String(allow_none=True)
    approval_id = fields.Integer()
    client_id = fields.Integer()
    client_name = fields.String()
    kvk = fields.String(allow_none=True)
    sha256 = fields.String()
    channel = fields.String()
    reference = fields.String(allow_none=True)
    branch_id = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class FilingListOut(Schema):
    items = fields.List(fields.Nested(FilingOut))
    total = fields.Integer()


class FilingRoutes:
    @route("POST", "/api/v1/filings", summary="Geaccordeerde jaarrekening deponeren bij de KvK", tags=["filing"],
           body=FileIn(), response=FilingOut(), status=202)
    def file_annual_accounts(self, request, ctx):
        return self.filing.file_annual_accounts(principal=ctx.principal, payload=ctx.body), 202

    @route("GET", "/api/v1/filings", summary="Deponeringen", tags=["filing"], query=FilingsQuery(),
           response=FilingListOut())
    def list_filings(self, request, ctx):
        return self.filing.list_filings(principal=ctx.principal, query=ctx.query)

    @route("GET", "/api/v1/filings/<int:filing_id>", summary="Status van een deponering", tags=["filing"],
           response=FilingOut())
    def get_filing(self, request, ctx, filing_id):
        return self.filing.get_filing(principal=ctx.principal, filing_id=filing_id)
