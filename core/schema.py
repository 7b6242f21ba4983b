"""OpenAPI names for the nested Input/Output serializers each API view declares, and what the
schema says of the query filters those views read through a serializer."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance, is_basic_serializer


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            # RegisterApi.InputSerializer -> RegisterInput
            owner, inner = qualname.rsplit(".", 1)
            owner = owner.split(".")[-1].removesuffix("Api")
            name = owner + inner.removesuffix("Serializer")
        return name

    def _process_override_parameters(self, direction="request"):
        parameters = super()._process_override_parameters(direction)
        # A serializer reads a query string as a form does: an optional field sent empty
        # (`?status=`) counts as not sent, so the filter is not applied rather than refused.
        for declared in self.get_override_parameters():
            if not is_basic_serializer(declared):
                continue
            for name, field in force_instance(declared).fields.items():
                parameter = parameters.get((name, "query"))
                if parameter is not None and not field.required and not getattr(field, "allow_blank", False):
                    parameter["allowEmptyValue"] = True
        return parameters


# What a database can hold is not what a field means: Django reads an integer column's range off
# the database in use (SQLite: 2**63 - 1 for every integer), so the schema, and Swagger's example
# (9223372036854776000), changed with the backend. Those bounds are dropped; a field with a real
# bound states it itself (max_value).
_DATABASE_RANGES = {32767, 2147483647, 9223372036854775807}

# Typical values, by property or parameter name, for the examples Swagger shows.
INTEGER_EXAMPLES = {
    "id": 42,
    "count": 1,
    "photo": 1,
    "photo_count": 3,
    "version": 2,
    "notice_version": 7,
    "notice_version_id": 7,
    "notice_version_number": 2,
    "current_notice_version": 8,
    "retention_days": 365,
    "days": 365,
    "templates": 1,
    "max_photos": 5,
    "entry_pass_id": 42,
    "session_id": 17,
    "token_id": 42,
    "signed_out": 2,
    "stored": 3,
    "already_stored": 0,
    "dropped": 1,
    "refused": 0,
    "seconds": 42,
    "quantity": 2,
    "visits": 1,
    "match_events": 1,
    "store_events": 3,
    "purchase_items": 2,
    "enrollments": 1,
    "notifications": 1,
    "consents": 2,
    "consent_events": 4,
    "entry_passes": 1,
    "web_sessions": 1,
    "app_tokens": 1,
    "email_codes": 0,
    "unread": 3,
    "marked": 2,
    "footprint_retention_months": 18,
}

# Typical strings where Swagger would show "string".
STRING_EXAMPLES = {
    "display_name": "Li Wei",
    "password": "a long passphrase of your own",
    "device_label": "Li Wei's phone",
    "operator": "demo-market",
    "purpose": "face_entry",
    "contact": "privacy@demo-market.example",
    "date_of_birth": "1990-05-17",
    "event_id": "door-7-000123",
    "shelf": "A3-tea",
    "sku": "tea-500",
    "currency": "CNY",
    "store": "Central",
    "door": "Central door",
}


def postprocess_examples(result, generator, request, public):
    """drf-spectacular hook: backend-independent integer schemas with typical examples."""

    def visit(node, name=None):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                if node.get("maximum") in _DATABASE_RANGES:
                    del node["maximum"]
                    node.pop("format", None)
                if name in INTEGER_EXAMPLES and "example" not in node:
                    node["example"] = INTEGER_EXAMPLES[name]
            if node.get("type") == "string" and name in STRING_EXAMPLES and "enum" not in node:
                node.setdefault("example", STRING_EXAMPLES[name])
            for key, value in node.get("properties", {}).items():
                visit(value, key)
            for key, value in node.items():
                if key == "properties":
                    continue
                if key == "schema" and "name" in node:  # a parameter: its schema takes its name
                    visit(value, node["name"])
                else:
                    visit(value, name if key in ("allOf", "oneOf", "anyOf", "items") else None)
        elif isinstance(node, list):
            for item in node:
                visit(item, name)
        return node

    return visit(result)
