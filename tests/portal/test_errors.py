"""A failure nobody planned for still answers in the one error shape, never a traceback."""

import pytest
from django.urls import path
from rest_framework.views import APIView

from tests.conftest import assert_error


class BrokenApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [path("api/v1/broken", BrokenApi.as_view())]
handler500 = "core.exception_handler.server_error_view"


@pytest.mark.urls("tests.portal.test_errors")
def test_an_unexpected_error_answers_json_500(client, db):
    client.raise_request_exception = False
    response = client.get("/api/v1/broken")
    assert_error(response, 500, "server_error", "Something went wrong on our side; it has been logged.")
    assert b"boom" not in response.content


@pytest.mark.parametrize("method", ["options", "post", "delete"])
def test_the_api_docs_page_answers_other_methods_with_405_not_a_500(client, db, method):
    """Swagger UI's page renders HTML only; an OPTIONS (which every DRF view answers with metadata)
    or a write found no template to render and answered 500."""
    response = getattr(client, method)("/api/docs/")
    assert_error(response, 405, "method_not_allowed")
    assert client.get("/api/docs/").status_code == 200


def test_every_extra_key_an_error_carries_is_in_the_schema(client, db):
    """A refusal's extra keys (`DomainError(extra=...)`) are part of the API: each is documented in
    the error schema, so an app can rely on it."""
    import re
    from pathlib import Path

    import yaml
    from django.conf import settings

    keys = set()
    for app in ("portal", "stores", "consent", "biometrics", "core"):
        for module in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            for found in re.findall(r"extra=\{([^}]*)\}", module.read_text()):
                keys.update(re.findall(r'"([a-z_]+)":', found))
    assert {"status", "current_notice_version", "accepted"} <= keys
    schema = yaml.safe_load(client.get("/api/schema/").content)
    documented = set(schema["components"]["schemas"]["ErrorBody"]["properties"])
    assert keys <= documented, keys - documented
