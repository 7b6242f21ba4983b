"""The error-code list (`core.error_codes`) against the code: every code raised is listed, with the
status it is raised with, and nothing is listed that no code raises."""

import ast
from pathlib import Path

from django.conf import settings

from core.error_codes import ERROR_CODES
from core.exception_handler import DRF_CODES

ROOT = Path(settings.BASE_DIR)
PACKAGES = ["core", "portal", "consent", "biometrics", "stores"]

# The status each refusal class answers with; a `status=` keyword overrides it.
CLASS_STATUSES = {
    "DomainError": 400,
    "ValidationFailed": 400,
    "AuthenticationRequired": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "TooManyRequests": 429,
    "ServiceUnavailable": 503,
    "EntryPassRefused": 403,
    "AuthenticationFailed": 401,
    "PermissionDenied": 403,
    "ValidationError": 400,
}
# Codes of web forms only (never in an API answer).
FORM_ONLY = {"forms.ValidationError"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return getattr(func, "id", "")


def raised_codes() -> dict[str, set[int | None]]:
    """code -> the statuses it is raised with (None where the status is not plain to read)."""
    found: dict[str, set[int | None]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    name = _name(node.func)
                    keywords = {k.arg: k.value for k in node.keywords}
                    code = keywords.get("code")
                    if isinstance(code, ast.Constant) and isinstance(code.value, str) and name not in FORM_ONLY:
                        status = keywords.get("status")
                        if isinstance(status, ast.Constant):
                            found.setdefault(code.value, set()).add(status.value)
                        else:
                            found.setdefault(code.value, set()).add(CLASS_STATUSES.get(name.split(".")[-1]))
                    if name == "error_body" and isinstance(node.args[0], ast.Constant):
                        found.setdefault(node.args[0].value, set()).add(None)
                    if name == "_error_view" and isinstance(node.args[2], ast.Constant):
                        found.setdefault(node.args[2].value, set()).add(node.args[1].value)
                if isinstance(node, ast.ClassDef):
                    attributes = {
                        target.id: statement.value.value
                        for statement in node.body
                        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                        for target in statement.targets
                        if isinstance(target, ast.Name)
                    }
                    if "code" in attributes:
                        found.setdefault(attributes["code"], set()).add(attributes.get("status"))
    for code in DRF_CODES.values():
        found.setdefault(code, set()).add(None)
    return found


def test_every_code_raised_is_listed_with_its_status():
    raised = raised_codes()
    missing = sorted(set(raised) - set(ERROR_CODES))
    assert not missing, f"codes raised but not listed in core/error_codes.py: {missing}"
    wrong = {
        code: (sorted(s for s in statuses if s), ERROR_CODES[code].statuses)
        for code, statuses in raised.items()
        if any(status and status not in ERROR_CODES[code].statuses for status in statuses)
    }
    assert not wrong, f"codes listed with another status than they are raised with: {wrong}"


def test_nothing_is_listed_that_no_code_raises():
    stale = sorted(set(ERROR_CODES) - set(raised_codes()))
    assert not stale, f"codes listed in core/error_codes.py that nothing raises: {stale}"


def test_the_error_code_page_lists_every_code_with_its_status(client):
    response = client.get("/api/errors/")
    assert response.status_code == 200
    page = response.content.decode()
    for error in ERROR_CODES.values():
        assert f'id="{error.code}"' in page
    assert 'id="consent_not_active"><code>consent_not_active</code> <span class="status">409</span>' in page


def test_the_api_description_links_the_error_code_page(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "(/api/errors/)" in schema["info"]["description"]
