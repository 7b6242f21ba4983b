"""S4: each operator's security protection document for the authorities, as a printable page, a PDF (English and
Chinese, the Chinese visible when the PDF is drawn) and JSON that validates against the committed schema. Its
figures are counted here again, independently, from the rows themselves; issued versions are kept as they were;
the impact assessment is completed and signed by a privacy officer, a new version each time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from unittest import mock

import jsonschema
import numpy as np
import pypdfium2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from biometrics.models import FaceTemplate
from consent.models import Consent
from consent.services import consent_withdraw
from core.errors import ValidationFailed
from core.models import AuditEntry
from portal.documents import selectors as documents
from portal.documents.selectors import SCHEMA_PATH
from portal.documents.services import impact_assessment_sign
from portal.models import ImpactAssessment, IssuedDocument, PrivacyRequest
from portal.privacy.services import privacy_request_open
from stores.models import Device, Operator
from tests.conftest import staff_signed_in
from tests.consent.test_withdrawal import held_template
from tests.factories import OperatorFactory, UserFactory, consent_to, face_consent, staff_member

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S4")]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "documents"


@pytest.fixture
def demo(settings, tmp_path):
    """The demo operator with shoppers around it: templates with and without an active face consent, a
    withdrawal, privacy requests answered in time, late and still open, and a gallery self-check."""
    from stores.services import gallery_check_record
    from tests.core.test_audit_coverage import _gallery_check, _one_to_n_on

    settings.VAR_DIR = tmp_path
    call_command("seed_demo", force=True, verbosity=0)
    operator = Operator.objects.get(slug="demo-mart")
    elsewhere = OperatorFactory(name="Elsewhere")
    for _ in range(3):
        shopper = UserFactory()
        face_consent(shopper, operator)
        held_template(shopper)
    gone = UserFactory()
    consent_withdraw(consent=face_consent(gone, operator), channel="app")
    held_template(gone)  # a template, but no active consent here: not in this operator's gallery
    other = UserFactory()
    face_consent(other, elsewhere)
    held_template(other)  # another operator's shopper
    consent_to(UserFactory(), operator, "store_analytics")
    now = timezone.now()
    for finished, due in ((now - timedelta(days=2), now), (now, now - timedelta(days=1))):
        request = privacy_request_open(shopper=gone, kind="erasure", channel="app")
        PrivacyRequest.objects.filter(pk=request.pk).update(status="completed", finished_at=finished, due_at=due)
    late = privacy_request_open(shopper=gone, kind="erasure", channel="app")
    PrivacyRequest.objects.filter(pk=late.pk).update(due_at=now - timedelta(hours=1))
    privacy_request_open(shopper=other, kind="erasure", channel="app")  # Elsewhere's only
    gallery_check_record(
        operator_id=operator.pk,
        trigger="nightly",
        check=_gallery_check(),
        point=_one_to_n_on(),
        thresholds=[0.55],
        tir_floor=0.9,
    )
    return operator


@pytest.fixture
def officer(client):
    return staff_signed_in(client, staff_member("Privacy officer"))


def document_json(client, operator, **query) -> dict:
    answer = client.get(f"/staff/operators/{operator.slug}/document.json", query)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    return json.loads(answer.content)


def counted_again(operator: Operator) -> dict:
    """The figures from the rows, by plain Python over whole tables (no query the document uses)."""
    now = timezone.now()
    active = {
        consent.shopper_id
        for consent in Consent.objects.all()
        if consent.operator_id == operator.pk
        and consent.purpose == "face_entry"
        and consent.status == "active"
        and consent.expires_at > now
    }
    templates = [template for template in FaceTemplate.objects.all() if template.shopper_id in active]
    this_month = timezone.localtime(now).strftime("%Y-%m")
    entries = [entry for entry in AuditEntry.objects.all() if entry.data.get("operator") == operator.pk]
    requests = [
        request
        for request in PrivacyRequest.objects.all()
        if operator.pk in {o.pk for o in request.operators.all()} and request.status != "duplicate"
    ]
    answered = [request for request in requests if request.status in ("completed", "refused")]
    return {
        "people": len({template.shopper_id for template in templates}),
        "key_ids": sorted({template.key_id for template in templates}),
        "given_this_month": sum(
            1
            for entry in entries
            if entry.action == "consent.given" and timezone.localtime(entry.occurred_at).strftime("%Y-%m") == this_month
        ),
        "withdrawn_this_month": sum(1 for entry in entries if entry.action == "consent.withdrawn"),
        "received": len(requests),
        "answered": len(answered),
        "in_time": sum(1 for request in answered if request.finished_at <= request.due_at),
        "open": sum(1 for request in requests if request.status in PrivacyRequest.OPEN),
        "devices": sorted(device.name for device in Device.objects.all() if device.store.operator_id == operator.pk),
    }


def test_the_figures_agree_with_the_database_and_the_json_with_its_schema(officer, demo):
    document = document_json(officer, demo)
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    again = counted_again(demo)

    assert document["templates"]["people"] == again["people"] == 3
    assert document["templates"] | {"people": 0} == {
        "people": 0,
        "filing_threshold": 100_000,
        "warning_from": 80_000,
        "filing_required": False,
        "warning": False,
    }
    assert document["encryption"]["key_ids_in_use"] == again["key_ids"]
    this_month = document["consents_by_month"][-1]
    assert (this_month["given"], this_month["withdrawn"]) == (again["given_this_month"], again["withdrawn_this_month"])
    assert len(document["consents_by_month"]) == 12
    requests = document["privacy_requests"]
    assert (requests["received"], requests["answered"], requests["answered_in_time"], requests["open"]) == (
        again["received"],
        again["answered"],
        again["in_time"],
        again["open"],
    )
    assert (requests["received"], requests["answered_in_time"], requests["overdue"]) == (3, 1, 1)
    assert requests["share_answered_in_time"] == 0.5
    assert sorted(d["name"] for s in document["stores"] for d in s["devices"]) == again["devices"]
    assert not any(d["in_private_space"] for s in document["stores"] for d in s["devices"])
    assert document["stores"][0]["signage_confirmed_at"]
    assert document["audit"]["intact"] is True and document["audit"]["checked"] == AuditEntry.objects.count()
    check = document["gallery_check"]
    assert (check["threshold"], check["one_to_n"], check["gallery_size"]) == (0.55, True, 700)
    assert check["estimated_fpir"] is not None
    assert document["impact_assessment"] is None
    assert {item["kind"] for item in document["data_inventory"]} >= {"face_template", "photo", "visit", "audit"}
    # Nothing in it names a shopper.
    text = json.dumps(document)
    assert not any(user.email in text for user in UserFactory._meta.model.objects.filter(is_staff=False))


def test_the_filing_threshold_and_its_warning(officer, demo):
    with mock.patch.object(documents, "WARNING_FROM", 2), mock.patch.object(documents, "FILING_THRESHOLD", 4):
        warned = documents.protection_document(demo)["templates"]
        html = officer.get(f"/staff/operators/{demo.slug}/document/").content.decode()
        assert "Warning: over 2 people; a filing is required at 4." in html
    assert (warned["warning"], warned["filing_required"]) == (True, False)
    with mock.patch.object(documents, "FILING_THRESHOLD", 3):
        assert documents.protection_document(demo)["templates"]["filing_required"] is True
        html = officer.get(f"/staff/operators/{demo.slug}/document/").content.decode()
        assert "The filing threshold of 3 people is reached" in html


def test_the_printable_page_in_both_languages(officer, demo):
    english = officer.get(f"/staff/operators/{demo.slug}/document/?language=en").content.decode()
    chinese = officer.get(f"/staff/operators/{demo.slug}/document/?language=zh-hans").content.decode()
    assert (
        "Demo Mart: security protection document" in english and '<p class="figure" data-figure="people">3<' in english
    )
    assert '<html lang="zh-hans">' in chinese and "安全保护文件" in chinese and "数据清单" in chinese


def glyph(page, text_page, index: int) -> np.ndarray:
    """The drawn pixels of the character at `index` on a page rendered at 4x."""
    left, bottom, right, top = text_page.get_charbox(index)
    scale = 4
    image = np.asarray(page.render(scale=scale).to_pil().convert("L"))
    height = image.shape[0]
    return image[int(height - top * scale) : int(height - bottom * scale), int(left * scale) : int(right * scale)]


@pytest.mark.parametrize(("language", "heading"), [("en", "security protection document"), ("zh-hans", "安全保护文件")])
def test_the_pdf_draws_its_text_chinese_included(officer, demo, language, heading):
    answer = officer.get(f"/staff/operators/{demo.slug}/document.pdf?language={language}")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(answer.content)
    page = pdf[0]
    text_page = page.get_textpage()
    text = text_page.get_text_range()
    start = text.find(heading)
    assert start >= 0, text[:300]
    # Each character of the heading is drawn with ink, and different characters are drawn differently: a
    # font without Chinese draws every one as the same empty box.
    glyphs = [glyph(page, text_page, start + offset) for offset in range(len(heading)) if heading[offset] != " "]
    assert all((image < 128).sum() > 4 for image in glyphs)
    distinct = {(image < 128).tobytes() for image in glyphs}
    assert len(distinct) >= len(set(heading.replace(" ", ""))) - 1
    assert len(pdf) >= 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    for number in range(len(pdf)):  # for people to look at; not committed
        pdf[number].render(scale=1.5).to_pil().save(SHOTS / f"{language}-page{number + 1}.png")


def test_an_issued_version_is_kept_as_it_was(officer, demo):
    answer = officer.post(f"/staff/operators/{demo.slug}/document/issue/", {"language": "zh-hans"})
    assert answer.status_code == 302
    issued = IssuedDocument.objects.get()
    assert (issued.version, issued.language, issued.content["version"]) == (1, "zh-hans", 1)
    entry = AuditEntry.objects.get(action="protection_document.issued")
    assert entry.data["sha256"] == issued.content_sha256 and entry.data["people_with_a_template"] == 3
    jsonschema.validate(issued.content, json.loads(SCHEMA_PATH.read_text()))
    # The figures move on; version 1 does not.
    shopper = UserFactory()
    face_consent(shopper, demo)
    held_template(shopper)
    assert document_json(officer, demo)["templates"]["people"] == 4
    kept = document_json(officer, demo, version=1)
    assert kept == issued.content and kept["templates"]["people"] == 3
    assert officer.get(f"/staff/operators/{demo.slug}/document.pdf?version=1").content.startswith(b"%PDF")
    assert officer.get(f"/staff/operators/{demo.slug}/document/?version=9").status_code == 404
    assert officer.get(f"/staff/operators/{demo.slug}/document/?version=x").status_code == 404
    officer.post(f"/staff/operators/{demo.slug}/document/issue/", {"language": "en"})
    assert list(IssuedDocument.objects.order_by("version").values_list("version", "language")) == [
        (1, "zh-hans"),
        (2, "en"),
    ]
    page = officer.get("/staff/operators/").content.decode()
    assert 'data-version="2"' in page and 'data-version="1"' in page


def test_the_assessment_is_prefilled_completed_and_signed_as_new_versions(officer, demo):
    page = officer.get(f"/staff/operators/{demo.slug}/assessment/").content.decode()
    assert "entry pass" in page  # filled from what the product does
    parts = {"purpose": "Entry by face.", "necessity": "Passes exist.", "impact": "A leak.", "measures": "Sealed."}
    refused = officer.post(f"/staff/operators/{demo.slug}/assessment/", parts | {"impact": "  "})
    assert refused.status_code == 400 and not ImpactAssessment.objects.exists()
    assert officer.post(f"/staff/operators/{demo.slug}/assessment/", parts).status_code == 302
    officer.post(f"/staff/operators/{demo.slug}/assessment/", parts | {"measures": "Sealed, and audited."})
    versions = list(ImpactAssessment.objects.order_by("version").values_list("version", "measures"))
    assert versions == [(1, "Sealed."), (2, "Sealed, and audited.")]
    assert AuditEntry.objects.filter(action="impact_assessment.signed").count() == 2
    shown = document_json(officer, demo)["impact_assessment"]
    assert (shown["version"], shown["measures"]) == (2, "Sealed, and audited.")
    with pytest.raises(ValidationFailed):
        impact_assessment_sign(operator=demo, staff=UserFactory(is_staff=True), purpose="only this")


@pytest.mark.requirement("S2")
@pytest.mark.parametrize("role", ["Support agent", None])
def test_only_privacy_officers_and_admins_reach_them(client, demo, role):
    staff_signed_in(client, staff_member(*([role] if role else [])))
    for path in ("/staff/operators/", f"/staff/operators/{demo.slug}/document.json"):
        assert client.get(path).status_code == 403
    assert client.post(f"/staff/operators/{demo.slug}/document/issue/").status_code == 403


def test_making_a_pdf_leaves_pillow_refusing_cut_off_photos(officer, demo):
    """WeasyPrint's import turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, which let truncated
    photos through the engine as `no_face` in any process that had made a PDF."""
    from PIL import ImageFile

    from biometrics import engine
    from tests.photo_corpus import BY_NAME

    assert officer.get(f"/staff/operators/{demo.slug}/document.pdf").status_code == 200
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(engine.FaceRefused) as refused:
        engine.probe_encoding(BY_NAME["jpeg-cut-in-half"].make())
    assert refused.value.code == "unreadable_image"
