"""OpenAPI names for the nested Input/Output serializers each API view declares."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


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
