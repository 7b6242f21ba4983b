"""F3: one download of everything held about the shopper: JSON and CSV per kind that agree, a README for every
file and column, and JSON that validates against the committed schema."""

import csv
import io
import json
import zipfile

import jsonschema
import pytest

from biometrics.models import Enrollment
from consent.services import consent_withdraw
from core.models import AuditEntry
from portal.export import KINDS, SCHEMA_PATH, export_schema
from stores.models import PurchaseItem, StoreEvent
from tests.factories import UserFactory, consent_to, live_store
from tests.portal.test_footprint import footprint

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F3")]


def unzip(response) -> dict[str, bytes]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="faceconsent-export-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def shopper():
    shopper = UserFactory(display_name="Li Wei")
    store = live_store(name="Central")
    footprint(shopper, store, visits=3)
    analytics = consent_to(shopper, store.operator, "store_analytics")
    consent_withdraw(consent=analytics, channel="app")
    Enrollment.objects.create(shopper=shopper, channel="app", photo_count=2, status="done")
    footprint(UserFactory(), store, visits=2)  # someone else's footprint, never in this export
    return shopper


def test_the_export_holds_everything_and_its_json_validates_against_the_committed_schema(client, shopper):
    client.force_login(shopper)
    files = unzip(client.post("/footprint/export/"))

    names = {f"{kind.name}.{suffix}" for kind in KINDS for suffix in ("json", "csv")}
    assert set(files) == names | {"README.md", "schema.json", "receipts.json"}
    data = {f"{kind.name}.json": json.loads(files[f"{kind.name}.json"]) for kind in KINDS}
    schema = json.loads(files["schema.json"])
    jsonschema.validate(data, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    assert [row["display_name"] for row in data["account.json"]] == ["Li Wei"]
    assert sorted(row["purpose"] for row in data["consents.json"]) == ["face_entry", "store_analytics"]
    assert {row["kind"] for row in data["consent_events.json"]} >= {"given", "withdrawn"}
    assert len(data["enrollments.json"]) == 1
    assert len(data["visits.json"]) == 3 and len(data["match_events.json"]) == 3
    assert len(data["store_events.json"]) == StoreEvent.objects.filter(shopper=shopper).count() == 9
    assert len(data["purchase_items.json"]) == PurchaseItem.objects.filter(event__shopper=shopper).count() == 6
    visits = {row["id"] for row in data["visits.json"]}
    assert {row["visit"] for row in data["store_events.json"]} == visits  # ids link the files
    assert len(json.loads(files["receipts.json"])) == 2
    assert b"template" not in files["enrollments.json"] and b"ciphertext" not in b"".join(files.values())


def test_each_csv_says_what_its_json_says(client, shopper):
    client.force_login(shopper)
    files = unzip(client.post("/footprint/export/"))
    for kind in KINDS:
        rows = list(csv.DictReader(io.StringIO(files[f"{kind.name}.csv"].decode())))
        expected = [
            {key: "" if value is None else str(value) for key, value in row.items()}
            for row in json.loads(files[f"{kind.name}.json"])
        ]
        assert rows == expected, kind.name


def test_the_readme_explains_every_file_and_column_and_the_schema_is_the_committed_one(client, shopper):
    assert json.loads(SCHEMA_PATH.read_text()) == export_schema()  # regenerate it when a column changes
    client.force_login(shopper)
    files = unzip(client.post("/footprint/export/"))
    readme = files["README.md"].decode()
    for kind in KINDS:
        assert f"## {kind.name}.json, {kind.name}.csv" in readme
        for column in kind.columns:
            assert f"- `{column.name}`: {column.description}" in readme
    assert files["schema.json"] == SCHEMA_PATH.read_bytes()


def test_the_app_downloads_it_too_and_every_download_is_logged(api_client, shopper):
    api_client.force_authenticate(shopper)
    files = unzip(api_client.post("/api/v1/me/export"))
    assert len(json.loads(files["visits.json"])) == 3
    entry = AuditEntry.objects.get(action="account.exported")
    assert (entry.target_id, entry.channel) == (str(shopper.pk), "app")


def test_a_download_needs_a_login_and_a_post(client, api_client, shopper):
    assert client.post("/footprint/export/").status_code == 302
    assert api_client.post("/api/v1/me/export").status_code == 401
    client.force_login(shopper)
    assert client.get("/footprint/export/").status_code == 405
    assert not AuditEntry.objects.filter(action="account.exported").exists()
