"""The API's JSON parser and content negotiation: bodies parsed within limits, media types compared
as media types. Every refusal is a domain error, so it answers in the one error shape."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser

from core.errors import PayloadTooLarge, ValidationFailed
from core.http import JsonRefused, json_parse, media_type


def json_body(body: bytes) -> object:
    """A JSON body the API can take, or a 400 saying what is wrong with it."""
    try:
        return json_parse(body)
    except JsonRefused as error:
        if error.reason == "too_deep":
            raise ValidationFailed(_("The request body is nested too deeply."), code="json_too_deep") from error
        raise ValidationFailed(_("The request body is not valid JSON."), code="malformed_json") from error


def read_limited(stream, limit: int) -> bytes:
    """At most `limit` bytes of a body, or 413 when it holds more."""
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(_("The request body is too large."))
    return body


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return json_body(read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


class ContentNegotiation(DefaultContentNegotiation):
    """DRF matches `Application/JSON; charset=utf-8` against `application/json` by its text; this
    compares the media types themselves."""

    def select_parser(self, request, parsers):
        requested = media_type(request.content_type)
        for parser in parsers:
            if media_type(parser.media_type) == requested:
                return parser
        return None
