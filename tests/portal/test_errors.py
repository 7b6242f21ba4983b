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
