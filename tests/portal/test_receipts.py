"""A consent receipt is in one language: the one asked for (?lang=, or Accept-Language on the API),
else the shopper's; it says which. Its OpenAPI schema is typed, naming every field it carries."""

import json
import re

import pytest
import yaml

from consent.services import consent_give
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C5")]

CJK = re.compile(r"[\u4e00-\u9fff]")
# Acronyms (PIPL, GDPR, API) and codes may stand in any language's text; English words may not.
ENGLISH_WORD = re.compile(r"\b[A-Za-z]*[a-z]{3,}\b")


def _texts_for_people(receipt: dict) -> dict[str, str]:
    """Every text of the receipt written for people to read, by where it is."""
    texts = {
        "collection_method.description": receipt["collection_method"]["description"],
        "retention.description": receipt["retention"]["description"],
        "withdrawal.method": receipt["withdrawal"]["method"],
        "rights": receipt["rights"],
        "notice.title": receipt["notice"]["title"],
        "consent.status_label": receipt["consent"]["status_label"],
    }
    for number, purpose in enumerate(receipt["purposes"]):
        for key in ("name", "description", "method", "legal_basis", "termination"):
            texts[f"purposes.{number}.{key}"] = purpose[key]
    for number, category in enumerate(receipt["data_categories"]):
        texts[f"data_categories.{number}"] = category
    for number, event in enumerate(receipt["events"]):
        texts[f"events.{number}.kind_label"] = event["kind_label"]
    return texts


def assert_all_chinese(receipt: dict) -> None:
    assert receipt["language"] == "zh-hans"
    for where, text in _texts_for_people(receipt).items():
        assert CJK.search(text), (where, text)
        assert not ENGLISH_WORD.search(text), (where, text)


def assert_all_english(receipt: dict) -> None:
    assert receipt["language"] == "en"
    for where, text in _texts_for_people(receipt).items():
        assert not CJK.search(text), (where, text)


@pytest.fixture
def chinese_consent():
    operator = OperatorFactory(slug="fresh-mart", jurisdiction="CN")
    shopper = UserFactory(language="zh-hans")
    notice = published_notice(operator, data_categories=["facial template (biometric)", "entry time"])
    return consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="app")


def _api_receipt(api_client, consent, query: str = "", **headers):
    api_client.force_authenticate(consent.shopper)
    return api_client.get(f"/api/v1/consents/{consent.public_id}/receipt{query}", headers=headers)


def test_a_chinese_shoppers_receipt_is_chinese_throughout(api_client, chinese_consent):
    response = _api_receipt(api_client, chinese_consent)
    assert response.status_code == 200
    receipt = response.json()
    assert_all_chinese(receipt)
    assert receipt["purposes"][0]["name"] == "入口处人脸识别"
    assert receipt["collection_method"]["channel"] == "app"  # codes stay codes


def test_the_language_asked_for_wins_over_the_shoppers(api_client, chinese_consent):
    assert_all_english(_api_receipt(api_client, chinese_consent, "?lang=en").json())
    assert_all_english(_api_receipt(api_client, chinese_consent, **{"Accept-Language": "en-GB,en;q=0.8"}).json())
    # ?lang= is the explicit ask: it wins over the app's Accept-Language.
    assert_all_chinese(_api_receipt(api_client, chinese_consent, "?lang=zh-hans", **{"Accept-Language": "en"}).json())
    # A browser language the portal does not speak leaves the shopper's.
    assert_all_chinese(_api_receipt(api_client, chinese_consent, **{"Accept-Language": "fr"}).json())


def test_an_english_shoppers_receipt_can_be_asked_for_in_chinese(api_client, chinese_consent):
    chinese_consent.shopper.language = "en"
    chinese_consent.shopper.save(update_fields=["language"])
    assert_all_english(_api_receipt(api_client, chinese_consent).json())
    assert_all_chinese(_api_receipt(api_client, chinese_consent, "?lang=zh-CN").json())


def test_a_language_the_portal_does_not_speak_is_refused(api_client, chinese_consent):
    response = _api_receipt(api_client, chinese_consent, "?lang=fr")
    assert_error(response, 400, "language_unsupported")
    assert set(response.json()["error"]["fields"]) == {"lang"}


def test_the_web_download_is_in_one_language_too(client, chinese_consent):
    client.force_login(chinese_consent.shopper)
    address = f"/consents/{chinese_consent.public_id}/receipt/"
    assert_all_chinese(json.loads(client.get(address, HTTP_ACCEPT_LANGUAGE="en").content))
    assert_all_english(json.loads(client.get(address + "?lang=en").content))
    assert client.get(address + "?lang=fr").status_code == 400


def _walk(value, path=""):
    """Every key path of a JSON value, lists written as []."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}" if path else key
            yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, f"{path}[]")


def _schema_paths(schema: dict, components: dict, path=""):
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        for part in schema["allOf"]:
            yield from _schema_paths(part, components, path)
    for key, item in schema.get("properties", {}).items():
        here = f"{path}.{key}" if path else key
        yield here
        yield from _schema_paths(item, components, here)
    if "items" in schema:
        yield from _schema_paths(schema["items"], components, f"{path}[]")


def test_the_receipt_schema_is_typed_and_names_every_field(client, api_client, chinese_consent):
    """The OpenAPI answer of the receipt endpoint is an object with each ISO/IEC TS 27560 / Kantara
    field (requirements C5), every field a real receipt carries and nothing else."""
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    answer = schema["paths"]["/api/v1/consents/{public_id}/receipt"]["get"]["responses"]["200"]
    typed = answer["content"]["application/json"]["schema"]
    documented = set(_schema_paths(typed, components))
    c5 = {
        "receipt_id",
        "schema_version",
        "timestamp",
        "jurisdiction",
        "language",
        "collection_method",
        "principal_id",
        "controller",
        "controller.contact",
        "purposes",
        "data_categories",
        "sensitive",
        "retention",
        "withdrawal",
        "withdrawal.method",
        "notice",
        "notice.version",
    }
    assert c5 <= documented, c5 - documented
    receipt = _api_receipt(api_client, chinese_consent).json()
    assert set(_walk(receipt)) == documented
    root = components[typed["$ref"].rsplit("/", 1)[1]]
    assert set(root["required"]) == set(receipt)
