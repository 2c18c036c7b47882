"""Health, readiness, the OpenAPI document, and JSON answers for unknown routes."""
from marshmallow import Schema, fields

from chassis.health import broker_ok, database_ok
from gateway.api import route
from gateway.errors import error_response
from gateway.openapi import build_document


class StatusOut(Schema):
    status = fields.String()
    broker = fields.Boolean()
    database = fields.Boolean()


class SystemRoutes:
    @route("GET", "/healthz", summary="Het proces draait", tags=["system"], auth="none", response=StatusOut())
    def healthz(self, request, ctx):
        return {"status": "ok"}

    @route("GET", "/readyz", summary="Broker en database bereikbaar", tags=["system"], auth="none",
           response=StatusOut())
    def readyz(self, request, ctx):
        broker, database = broker_ok(timeout=1.0), database_ok()
        ready = broker and database
        return {"status": "ready" if ready else "unavailable", "broker": broker, "database": database}, \
            (200 if ready else 503)

    @route("GET", "/api/v1/openapi.json", summary="Het OpenAPI-document van deze API", tags=["system"],
           auth="none")
    def openapi(self, request, ctx):
        return build_document()

    @route("GET,POST,PUT,PATCH,DELETE", "/<path:unknown>", summary="Onbekende route", tags=["system"], auth="none")
    def unknown_route(self, request, ctx, unknown):
        return error_response(404, "not_found", "Deze route bestaat niet.")
