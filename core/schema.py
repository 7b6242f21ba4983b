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
