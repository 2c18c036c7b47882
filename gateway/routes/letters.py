"""Routes served by the letters service: batch status and the printable PDF."""
import base64

from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from gateway.api import route
from gateway.errors import register_remote_errors

register_remote_errors({
    "letters.exceptions.BatchNotFound": (404, "batch_not_found"),
    "letters.exceptions.BatchNotReady": (409, "batch_not_ready"),
    "letters.exceptions.BatchPurged": (410, "batch_purged"),
    "letters.exceptions.NotAllowed": (403, "forbidden"),
    "letters.exceptions.InvalidLayout": (422, "invalid_layout"),
    "letters.exceptions.BatchUnreadable": (503, "batch_unreadable"),
})


class PageRangeOut(Schema):
    letter = fields.Integer()
    first_page = fields.Integer()
    last_page = fields.Integer()


class BatchOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    done = fields.Integer()
    total = fields.Integer()
    branch_id = fields.Integer()
    pages = fields.List(fields.Nested(PageRangeOut))
    created_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    printed_at = fields.String(allow_none=True)
    purged_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class LettersRoutes:
    @route("GET", "/api/v1/letters/<int:batch_id>", summary="Status van een brievenbatch (voortgang, pagina's)",
           tags=["letters"], response=BatchOut())
    def letter_batch(self, request, ctx, batch_id):
        return self.letters.batch_status(principal=ctx.principal, batch_id=batch_id)

    @route("GET", "/api/v1/letters/<int:batch_id>/pdf", summary="De brieven als één PDF om af te drukken",
           tags=["letters"], produces="application/pdf", errors=(409, 410, 503))
    def letter_batch_pdf(self, request, ctx, batch_id):
        result = self.letters.batch_pdf(principal=ctx.principal, batch_id=batch_id)
        filename = result["filename"].replace('"', "")
        return Response(base64.b64decode(result["pdf_base64"]), status=200, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
