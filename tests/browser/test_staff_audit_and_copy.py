"""On a phone, in each language: an admin signs in with a real code from the authenticator app's key and reads
the audit log with its verdict, narrowed to one family of actions; a shopper who called gets the copy of their
data by the mailed link, which downloads the zip once and then says it is spent. Each page is checked like
the shoppers' (fits the screen, speaks one language) and saved as a screenshot."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.core import mail

from biometrics.keys import key_ring
from core.models import AuditEntry
from portal.models import PrivacyRequest
from portal.privacy.services import privacy_access_deliver, privacy_request_open
from tests.browser.test_phone_walk import PHONE, look_at
from tests.browser.test_security_headers import staff_first_sign_in
from tests.factories import OperatorFactory, UserFactory, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.requirement("F3", "F5", "S1")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_admin_reads_the_log_and_a_caller_downloads_their_copy_once(page, live_server, language, settings):
    settings.LANGUAGE_CODE = language
    admin = staff_member("Admin", language=language, email="admin@faceconsent.example")
    caller = UserFactory(language=language, email="caller@example.com")
    agent = staff_member("Support agent")
    request = privacy_request_open(shopper=caller, kind="access", channel="staff", opened_by=agent)
    PrivacyRequest.objects.filter(pk=request.pk).update(status=PrivacyRequest.Status.IDENTITY_VERIFIED)
    privacy_access_deliver(request=request, staff=agent)
    (link,) = re.findall(r"http\S+/access/\S+/", mail.outbox[-1].body)
    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    problems = []

    staff_first_sign_in(page, admin.email, "/staff/audit/")
    # The log's own words are data, shown as they are in any language: actions, targets and their values.
    logged = AuditEntry.objects.values_list("action", "target_type", "data", "channel")
    names = ["FaceConsent", "consent", *[str(value) for row in logged for value in row]]
    problems += look_at(page, "staff-audit", language, None, names)
    assert page.locator("[data-audit]").get_attribute("data-audit") == "intact"
    assert page.locator("tr[data-sequence]").count() == AuditEntry.objects.count()

    page.locator("input[name=action]").fill("privacy_request.")
    page.locator("main form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"action=privacy_request\."))
    shown = page.locator("tr[data-action]").evaluate_all("rows => rows.map(row => row.dataset.action)")
    assert shown and all(action.startswith("privacy_request.") for action in shown)
    problems += look_at(page, "staff-audit-filtered", language, None, names)

    # The documents for the authorities: the list, the assessment form and the document itself.
    operator = OperatorFactory(
        name="Demo Mart", legal_name="Demo Mart Retail Ltd.", privacy_officer_name="Dana Officer"
    )
    names += [
        "Demo",
        "Mart",
        "Retail",
        "Ltd",
        "Dana",
        "Officer",
        "AES",
        "GCM",
        "TEMPLATE_KEYS",
        "GDPR",
        "PDF",
        "N",
        *key_ring().key_ids,
        *operator.contact_address.split(),
        *admin.display_name.split(),  # who signed the assessment
    ]
    page.goto("/staff/operators/")
    problems += look_at(page, "staff-documents", language, None, names)
    page.goto(f"/staff/operators/{operator.slug}/assessment/")
    problems += look_at(page, "staff-assessment", language, None, names)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/assessment/$"))
    assert operator.impact_assessments.count() == 1
    problems += look_at(page, "staff-document", language, f"/staff/operators/{operator.slug}/document/", names)

    # The caller's side: the mailed link, opened on their phone.
    path = link[link.index("/access/") :]
    problems += look_at(page, "access_link", language, path, names)
    with page.expect_download() as download:
        page.locator("main form button[type=submit]").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        files = archive.namelist()
    assert "account.json" in files and "visits.csv" in files
    problems += look_at(page, "access_link-spent", language, path, names, status=410)
    assert page.locator("[data-code]").get_attribute("data-code") == "access_link_used"
    assert not problems, "\n".join(problems)
