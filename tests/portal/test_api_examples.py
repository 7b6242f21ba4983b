"""The OpenAPI schema shows an app developer typical values: no database-sized integers
(Swagger showed 9223372036854776000), no free-form objects (Swagger showed "additionalProp1")."""

import pytest

DATABASE_RANGES = {32767, 2147483647, 9223372036854775807}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _schemas(node, path=""):
    if isinstance(node, dict):
        if "type" in node or "$ref" in node:
            yield path, node
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schemas(item, f"{path}/{index}")


def test_every_integer_has_a_typical_example_and_no_database_bound(schema):
    integers = [(path, node) for path, node in _schemas(schema) if node.get("type") == "integer"]
    assert integers
    assert [path for path, node in integers if node.get("maximum") in DATABASE_RANGES] == []
    assert [path for path, node in integers if "example" not in node] == []


def test_no_object_is_free_form_without_an_example(schema):
    free = [
        path
        for path, node in _schemas(schema)
        if node.get("type") == "object" and "properties" not in node and "example" not in node
    ]
    assert free == []


def test_each_error_answer_shows_a_listed_code_as_its_example(schema):
    from core.error_codes import ERROR_CODES

    seen = 0
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                for example in response["content"]["application/json"].get("examples", {}).values():
                    code = example["value"]["error"]["code"]
                    assert code in ERROR_CODES and int(status) in ERROR_CODES[code].statuses
                    seen += 1
    assert seen > 50


def test_notice_texts_and_photo_results_are_typed(schema):
    components = schema["components"]["schemas"]
    assert set(components["NoticeTexts"]["properties"]) == {"en", "zh-hans"}
    assert components["NoticeVersionOutput"]["properties"]["data_categories"]["items"] == {"type": "string"}
    assert set(components["PhotoResult"]["properties"]) == {"photo", "accepted", "code", "message"}


def test_a_sign_up_example_reads_like_a_person(schema):
    properties = schema["components"]["schemas"]["RegisterInputRequest"]["properties"]
    assert properties["display_name"]["example"] == "Li Wei"
    assert properties["date_of_birth"]["example"] == "1990-05-17"
