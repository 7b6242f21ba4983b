"""The shopper's export, as a download from the footprint page and over the API (F3)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.api import errors
from portal.account.services import account_export_record
from portal.export import export_stream


def export_response(user) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_stream(user), content_type="application/zip")
    name = f"faceconsent-export-{timezone.localdate():%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def export_download(request: HttpRequest) -> StreamingHttpResponse:
    account_export_record(user=request.user, channel="web")
    return export_response(request.user)


class ExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="account_export",
        request=None,
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="A zip: README.md, schema.json, receipts.json, and for each kind (account, consents, "
                "consent_events, enrollments, visits, match_events, store_events, notifications, purchase_items) "
                "NAME.json and NAME.csv. Streamed as it is made.",
            ),
            **errors(401),
        },
        description="Everything held about the shopper, in one download (data portability). Logged.",
    )
    def post(self, request):
        account_export_record(user=request.user, channel="app")
        return export_response(request.user)
