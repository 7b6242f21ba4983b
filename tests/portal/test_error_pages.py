"""Web error pages (400, 403, 404, 500) are the product's own, in the shopper's language, in every
mode, the embedded default included (the /api/ side answers the error shape: test_errors.py)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from portal import urls as portal_urls
from tests.factories import UserFactory
from tests.worker import ROOT


def _forbidden(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("a forged field")


def _broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("test-errors/400/", _suspicious),
    path("test-errors/403/", _forbidden),
    path("test-errors/500/", _broken),
    *portal_urls.urlpatterns,
]
handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500

PAGES = {
    "en": {
        400: "The request could not be understood.",
        403: "You are not allowed to do this.",
        404: "Not found.",
        500: "Something went wrong on our side; it has been logged.",
        "back": "Back to the start",
    },
    "zh-hans": {
        400: "无法理解该请求。",
        403: "您无权执行此操作。",
        404: "未找到相关内容。",
        500: "我们这边出了点问题，已记录该错误。",
        "back": "返回首页",
    },
}
PATHS = {400: "/test-errors/400/", 403: "/test-errors/403/", 404: "/no-such-page/", 500: "/test-errors/500/"}


def _assert_product_page(response, status: int, language: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f'<html lang="{language}">' in body
    assert PAGES[language][status] in body
    assert PAGES[language]["back"] in body
    other = "en" if language == "zh-hans" else "zh-hans"
    assert PAGES[other][status] not in body
    # Nothing of Django's own pages: no URL list, no traceback, no settings.
    for technical in ("URLconf", "Traceback", "boom", "a forged field", "DEBUG"):
        assert technical not in body


@pytest.mark.urls("tests.portal.test_error_pages")
@pytest.mark.parametrize("status", [400, 403, 404, 500])
@pytest.mark.parametrize(("accept", "language"), [("en", "en"), ("zh-CN,zh;q=0.9", "zh-hans")])
def test_each_error_page_is_the_products_own_in_the_browsers_language(client, db, status, accept, language):
    client.raise_request_exception = False
    response = client.get(PATHS[status], HTTP_ACCEPT_LANGUAGE=accept)
    _assert_product_page(response, status, language)


@pytest.mark.urls("tests.portal.test_error_pages")
@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_each_error_page_speaks_the_signed_in_shoppers_language(client, db, status):
    client.force_login(UserFactory(language="zh-hans"))
    client.raise_request_exception = False
    response = client.get(PATHS[status], HTTP_ACCEPT_LANGUAGE="en")
    _assert_product_page(response, status, "zh-hans")


def test_a_bad_host_answers_the_products_400_page(client, db):
    response = client.get("/", HTTP_HOST="not-this-site.example", HTTP_ACCEPT_LANGUAGE="zh-hans")
    _assert_product_page(response, 400, "zh-hans")


EMBEDDED_DEFAULT = """
import json
import django

django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
pages = {}
# This module's URLs: the site's, and a view for each failure the site has no address for.
with override_settings(ROOT_URLCONF="tests.portal.test_error_pages"):
    for status, path in {"400": "/test-errors/400/", "403": "/test-errors/403/", "404": "/no-such-page/",
                         "500": "/test-errors/500/"}.items():
        for accept in ("en", "zh-hans"):
            answer = client.get(path, HTTP_ACCEPT_LANGUAGE=accept)
            pages[f"{status} {accept}"] = [answer.status_code, answer.content.decode()]
style = client.get("/static/portal/portal.css")
print(json.dumps({
    "debug": settings.DEBUG,
    "embedded": settings.EMBEDDED,
    "simulator": settings.ENTRANCE_SIMULATOR,
    "pages": pages,
    "style": [style.status_code, b"".join(style.streaming_content).decode() if style.streaming else ""],
}))
"""


def test_the_embedded_default_shows_the_products_error_pages_and_still_serves_static_files(tmp_path):
    """`make run` with nothing set: DEBUG is off unless a developer asks, so a mistyped address meets
    the product's page (not Django's URL list), each error page is the product's in both languages,
    and the pages' own files are still served."""
    deployment = {"DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "SECRET_KEY", "TEMPLATE_KEYS", "DEBUG"}
    env = {name: value for name, value in os.environ.items() if name not in deployment}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EMBEDDED_DEFAULT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers["embedded"] is True
    assert answers["debug"] is False
    assert answers["simulator"] is True  # the demo's door still plays in the embedded default
    for status in (400, 403, 404, 500):
        for language in ("en", "zh-hans"):
            answered, page = answers["pages"][f"{status} {language}"]
            assert answered == status
            assert f'<html lang="{language}">' in page
            assert PAGES[language][status] in page and PAGES[language]["back"] in page
            for technical in ("URLconf", "Traceback", "boom", "a forged field"):
                assert technical not in page
    status, style = answers["style"]
    assert status == 200
    assert "body" in style
