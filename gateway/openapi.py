"""OpenAPI 3 document generated from the routes and their marshmallow schemas."""
import re

from marshmallow import Schema, fields, validate

from gateway.api import ROUTES

_SIMPLE = {
    fields.Integer: {"type": "integer"}, fields.Float: {"type": "number"},
    fields.Decimal: {"type": "string", "format": "decimal"}, fields.Boolean: {"type": "boolean"},
    fields.Email: {"type": "string", "format": "email"}, fields.UUID: {"type": "string", "format": "uuid"},
    fields.DateTime: {"type": "string", "format": "date-time"}, fields.Date: {"type": "string", "format": "date"},
    fields.Url: {"type": "string", "format": "uri"}, fields.String: {"type": "string"},
    fields.Dict: {"type": "object"}, fields.Raw: {},
}


def field_schema(field: fields.Field) -> dict:
    if isinstance(field, fields.Nested):
        nested = field.nested() if callable(field.nested) and not isinstance(field.nested, type) else field.nested
        out = schema_object(nested if isinstance(nested, Schema) else nested())
        if field.many:
            out = {"type": "array", "items": out}
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": field_schema(field.inner)}
    else:
        out = {}
        for cls in type(field).__mro__:
            if cls in _SIMPLE:
                out = dict(_SIMPLE[cls])
                break
    for validator in getattr(field, "validators", []):
        if isinstance(validator, validate.OneOf):
            out["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Length):
            key = ("minItems", "maxItems") if out.get("type") == "array" else ("minLength", "maxLength")
            if validator.min is not None:
                out[key[0]] = validator.min
            if validator.max is not None:
                out[key[1]] = validator.max
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                out["minimum"] = validator.min
            if validator.max is not None:
                out["maximum"] = validator.max
        elif isinstance(validator, validate.Regexp):
            out["pattern"] = validator.regex.pattern
    if field.allow_none:
        out["nullable"] = True
    return out


def schema_object(schema: Schema, for_input: bool = False) -> dict:
    props, required = {}, []
    for name, field in schema.fields.items():
        if for_input and field.dump_only:
            continue
        if not for_input and field.load_only:
            continue
        key = field.data_key or name
        props[key] = field_schema(field)
        if for_input and field.required:
            required.append(key)
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> tuple[str, list]:
    params = []

    def repl(match):
        converter, name = match.group(1), match.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer"} if converter == "int" else {"type": "string"}})
        return "{" + name + "}"

    return _PARAM.sub(repl, rule), params


_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                            "details": {"type": "object"}}, "required": ["error", "message"]}


def build_document() -> dict:
    paths: dict = {}
    for spec in ROUTES:
        if spec.path.startswith("/<path:"):
            continue  # the catch-all that answers unknown routes with JSON 404
        path, params = openapi_path(spec.path)
        for method in spec.method.split(","):
            op = {"summary": spec.summary, "tags": spec.tags, "operationId": _operation_id(method, spec.path),
                  "parameters": list(params), "responses": {}}
            if spec.query is not None:
                for name, field in spec.query.fields.items():
                    op["parameters"].append({"name": field.data_key or name, "in": "query",
                                             "required": bool(field.required), "schema": field_schema(field)})
            if spec.body is not None:
                media = {"schema": schema_object(spec.body, for_input=True)}
                op["requestBody"] = {"required": True, "content": {spec.content: media}}
            if spec.auth in ("user", "platform"):
                op["security"] = [{"bearer": []}]
            success = {"description": "OK"}
            if spec.produces == "application/json":
                success["content"] = {"application/json": {
                    "schema": schema_object(spec.response) if spec.response is not None else {}}}
            else:
                success["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
            op["responses"][str(spec.status)] = success
            for status in _error_statuses(spec):
                op["responses"][status] = {"description": "Fout", "content": {"application/json": {"schema": _ERROR}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "akkoord", "version": "1", "description": "Cliëntportaal voor accountantskantoren"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _error_statuses(spec):
    statuses = ["400", "404", "422", "503"]
    if spec.auth in ("user", "platform"):
        statuses += ["401", "403"]
    if spec.body is not None or spec.content != "application/json":
        statuses += ["413", "415"]  # too large; not JSON (or not the multipart form)
    statuses += [str(code) for code in spec.errors]
    return sorted(set(statuses))


def _operation_id(method: str, rule: str) -> str:
    words = re.sub(r"<(?:\w+:)?(\w+)>", r"by_\1", rule.replace("/api/v1/", "")).strip("/")
    return method.lower() + "_" + re.sub(r"[^a-zA-Z0-9]+", "_", words).strip("_")
