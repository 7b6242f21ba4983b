"""Swagger UI at /api/docs/, under the Content-Security-Policy of every page but for one source.

drf-spectacular's split view serves Swagger UI's start script from a URL (`?script`) instead of
inline, and our template moves the page's inline style block to a static file. Swagger UI draws
its icons as data: SVG images, so this page alone allows `img-src data:` (an image runs no code).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularSwaggerSplitView

from core.error_codes import error_code_groups
from portal.headers import csp_override


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "portal/api_docs.html"
    # A page, not an API: DRF's OPTIONS metadata has no template to render here (it answered 500).
    http_method_names = ["get", "head"]


api_docs = csp_override({**settings.SECURE_CSP, "img-src": ["'self'", "data:"]})(
    ApiDocsView.as_view(url_name="api_schema")
)


@require_safe
def error_codes(request: HttpRequest) -> HttpResponse:
    """Every error code the API answers, with its status and meaning (`core.error_codes`)."""
    return render(request, "portal/api_errors.html", {"groups": error_code_groups()})
