"""Serializer fields the APIs share."""

from __future__ import annotations

from django.core.validators import slug_re
from rest_framework import serializers


class SlugRelatedField(serializers.SlugRelatedField):
    """A row by its slug; text that is no slug is not found without asking the database (PostgreSQL
    refuses a NUL character in a query with an error, which DRF's own field lets through as a 500)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not slug_re.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:80])
        return super().to_internal_value(data)
