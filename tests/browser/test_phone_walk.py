"""Every shopper page on a phone (360 x 740), in English and in Chinese, as a shopper with real data meets it.

The pages are not listed by hand: the walk reads the web URLconf (`portal/web_urls.py`), and a route
that is neither walked (`PAGES`) nor set aside with a reason (`NOT_PAGES`) fails
`test_every_web_route_is_walked_or_set_aside`. Each page is checked for horizontal overflow and, in
Chinese, for English words left in its visible text; a screenshot of each is saved under
var/screenshots/phone/ for a person to look at.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode

from biometrics.models import Enrollment
from consent.services import consent_give, consent_refuse, consent_withdraw, entry_pass_issue
from core.audit import Actor
from portal import web_urls
from portal.demo_notices import CONTACT, CONTACT_ZH, DEMO_NOTICES, RIGHTS_EN, RIGHTS_ZH
from portal.models import AccessLink, EmailChange, PrivacyRequest, WebSession
from portal.privacy.selectors import access_token_hash
from portal.privacy.services import privacy_access_deliver, privacy_request_open
from portal.services import api_token_create
from stores.door.services import door_entry_pass
from stores.models import Notification, Visit
from stores.services import device_register
from tests.browser.test_language_choice import choose_language
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, live_store, published_notice
from tests.portal.test_footprint import footprint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
ACCESS_TOKEN = "the-token-the-mail-holds"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "phone"


@dataclass(frozen=True)
class Page:
    """A page of the walk: who opens it and how its path parameters (and query) are filled."""

    signed_in: bool
    kwargs: Callable[[dict], dict] = lambda world: {}
    query: Callable[[dict], dict] = lambda world: {}


# Every shopper-facing page of portal/web_urls.py.
PAGES: dict[str, Page] = {
    "home": Page(signed_in=False),
    "signup": Page(signed_in=False),
    "login": Page(signed_in=False),
    "verify_email": Page(signed_in=False, query=lambda world: {"email": world["newcomer"].email}),
    "password_reset": Page(signed_in=False),
    "password_reset_confirm": Page(
        signed_in=False,
        kwargs=lambda world: {
            "uidb64": urlsafe_base64_encode(force_bytes(world["shopper"].pk)),
            "token": default_token_generator.make_token(world["shopper"]),
        },
    ),
    "operator_retention": Page(signed_in=False, kwargs=lambda world: {"slug": world["operator"].slug}),
    "notice_version": Page(
        signed_in=False, kwargs=lambda world: {"slug": world["operator"].slug, "pk": world["face_notice"].pk}
    ),
    "profile": Page(signed_in=True),
    "consents": Page(signed_in=True),
    "consent_decide": Page(
        signed_in=True, kwargs=lambda world: {"slug": world["operator"].slug, "purpose": "personalised_offers"}
    ),
    "consent_withdraw_all": Page(signed_in=True),
    "entry_pass": Page(signed_in=True),
    "face": Page(signed_in=True),
    "password_change": Page(signed_in=True),
    "account_delete": Page(signed_in=True),
    "email_change": Page(signed_in=True),
    "email_change_confirm": Page(signed_in=True),
    "sessions": Page(signed_in=True),
    "footprint": Page(signed_in=True),
    "footprint_delete": Page(signed_in=True, query=lambda world: {"visit": str(world["visit"].public_id)}),
    "notifications": Page(signed_in=True),
    "privacy_requests": Page(signed_in=True),
    "access_link": Page(signed_in=False, kwargs=lambda world: {"token": ACCESS_TOKEN}),
}

# Routes of portal/web_urls.py that are not shopper pages, each with the reason.
NOT_PAGES: dict[str, str] = {
    "logout": "a POST action: it redirects, it shows nothing",
    "verify_email_resend": "a POST action: it redirects to the verify page, which is walked",
    "consent_withdraw": "a POST action from the consents page, which is walked",
    "consent_reaffirm": "a POST action from the consents page, which is walked",
    "consent_receipt": "a JSON download, not a page",
    "face_enroll": "a POST action from the face page, which is walked",
    "face_delete": "a POST action from the face page, which is walked",
    "simulator": "staff only (the door simulator, reached from the admin)",
    "staff_second_factor": "staff only (their second factor; tests/browser/test_security_headers.py goes through it)",
    "staff_second_factor_setup": "staff only (as above: set up with a code computed from the key it shows)",
    "staff_dashboard": "staff only (walked at phone size in both languages by tests/browser/test_staff_erasure.py)",
    "staff_requests": "staff only (as above)",
    "staff_shoppers": "staff only (shopper search; tests/portal/test_staff_console.py)",
    "staff_shopper": "staff only (a shopper's record, opened for a request; as above)",
    "staff_request_open": "staff only (opening a request for a caller)",
    "staff_request": "staff only (a request with its steps)",
    "staff_request_send_code": "a staff POST action from the request page",
    "staff_request_verify": "a staff POST action from the request page",
    "staff_request_start": "a staff POST action from the request page",
    "staff_request_refuse": "a staff POST action from the request page",
    "staff_request_deliver": "a staff POST action from the request page",
    "staff_documents": "privacy officers (the documents' list; tests/portal/test_protection_document.py)",
    "staff_document": "privacy officers (a printable document; its PDF is drawn and looked at by the same tests)",
    "staff_document_pdf": "a PDF download",
    "staff_document_json": "a JSON download",
    "staff_document_issue": "a staff POST action from the documents' list",
    "staff_assessment": "privacy officers (the impact assessment form; tests/portal/test_protection_document.py)",
    "staff_shards": "privacy officers and admins (walked at phone size in both languages by"
    " tests/browser/test_staff_shards.py)",
    "staff_shard_move": "a staff POST action from the shards' page",
    "staff_shard_create": "an admin's POST action from the shards' page",
    "staff_audit": "admins only (walked at phone size in both languages by tests/browser/test_staff_audit_and_copy.py)",
    "email_change_cancel": "a POST action from the email page, which is walked",
    "sessions_sign_out_others": "a POST action from the sessions page, which is walked",
    "web_session_sign_out": "a POST action from the sessions page, which is walked",
    "api_token_sign_out": "a POST action from the sessions page, which is walked",
    "export": "a POST download (a zip) from the footprint page, which is walked",
    "notifications_read_all": "a POST action from the notifications page, which is walked",
}

# Words a Chinese page may show in Latin letters besides the names in the data (operators, their
# legal names and privacy officers): the product's name, the language menu's own name for English,
# and file formats (images, and the export's zip, JSON and CSV).
ALLOWED_LATIN = {"FaceConsent", "English", "JPEG", "PNG", "WebP", "zip", "JSON", "CSV"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"https?://\S+")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
VERSION = re.compile(r"\bv\d+\b")
# A time zone's IANA name ("Asia/Shanghai", "UTC") is an identifier, shown as it is in every language.
TIME_ZONE = re.compile(
    r"\b(?:UTC|(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[\w/+-]+)"
)
WORD = re.compile(r"[A-Za-z]+")
# ASCII punctuation touching a Chinese character: Chinese text takes the full-width forms (：，；？！).
HALF_WIDTH_PUNCTUATION = re.compile(r"[\u3400-\u9fff][:;,?!]|[:;,?!] ?[\u3400-\u9fff]")


def _web_route_names() -> set[str]:
    names = set()
    for pattern in web_urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver), pattern
        names.add(pattern.name)
    return names


def test_every_web_route_is_walked_or_set_aside():
    routes = _web_route_names()
    assert not set(PAGES) & set(NOT_PAGES)
    missing = routes - set(PAGES) - set(NOT_PAGES)
    assert not missing, f"Add these routes to PAGES (with their parameters) or NOT_PAGES (with a reason): {missing}"
    assert not (set(PAGES) | set(NOT_PAGES)) - routes, "Routes named here that the URLconf no longer has"


def english_words(text: str, names: list[str]) -> list[str]:
    """Latin-letter words of a Chinese page that are not names, emails, codes or versions."""
    allowed = ALLOWED_LATIN | {word for name in names for word in WORD.findall(name)}
    for pattern in (EMAIL, URL, UUID, VERSION, TIME_ZONE):
        text = pattern.sub(" ", text)
    return sorted({word for word in WORD.findall(text) if word not in allowed})


def demo_world(*, language: str) -> dict:
    """An operator with its published notices, consents given, refused and withdrawn, a pass and an enrollment."""
    operator = OperatorFactory(
        name="Demo Mart",
        slug="demo-mart",
        legal_name="Demo Mart Retail Ltd.",
        privacy_officer_name="Dana Officer",
        privacy_officer_email="dpo@demo-mart.example",
    )
    versions = {
        purpose: published_notice(
            operator,
            purpose,
            **texts,
            rights_en=RIGHTS_EN,
            rights_zh_hans=RIGHTS_ZH,
            contact=CONTACT,
            contact_zh_hans=CONTACT_ZH,
        )
        for purpose, texts in DEMO_NOTICES.items()
    }
    other = OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    published_notice(other)
    # The profile speaks the other language: the walk chooses its own before logging in.
    shopper = UserFactory(display_name="王小明", language="zh-hans" if language == "en" else "en")
    consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=versions["face_entry"], channel="web"
    )
    analytics = consent_give(
        shopper=shopper,
        operator=operator,
        purpose="store_analytics",
        notice_version=versions["store_analytics"],
        channel="app",
    )
    consent_withdraw(consent=analytics, channel="web")
    consent_refuse(
        shopper=shopper,
        operator=other,
        purpose="face_entry",
        notice_version=other.notices.get().versions.get(),
        channel="web",
    )
    entry_pass_issue(shopper=shopper, channel="web", operator=operator)
    # The door recognised the shopper on a first visit (the notice shown), then let them in with a pass.
    store = live_store(operator, name="Central", slug="central")
    device = device_register(
        actor=Actor.system(), store=store, name="Central door", kind="entrance", location="entrance"
    ).device
    first = Visit.objects.create(
        shopper=shopper, store=store, device=device, method="face", first_visit=True, notice_shown_at=timezone.now()
    )
    Notification.objects.create(
        shopper=shopper,
        visit=first,
        kind="recognised",
        created_at=first.entered_at,
        first_visit=True,
        notice_version=versions["face_entry"],
    )
    door_entry_pass(device=device, token=entry_pass_issue(shopper=shopper, channel="app", operator=operator).token)
    # The worker refused the last enrollment: the face page shows why, photo by photo.
    Enrollment.objects.create(
        shopper=shopper,
        channel="web",
        photo_count=2,
        status=Enrollment.Status.REFUSED,
        reason="no_usable_photo",
        results=[
            {"photo": 1, "accepted": False, "code": "several_faces", "message": ""},
            {"photo": 2, "accepted": False, "code": "too_dark", "message": ""},
        ],
    )
    # A change of address waiting for its code, and an app signed in: the account pages show both.
    EmailChange.objects.create(
        user=shopper,
        new_email="xiaoming.new@example.com",
        code_hash="0" * 64,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    api_token_create(user=shopper, label="小明的手机")
    # Visits with what the store's devices reported: the footprint page shows them.
    square = live_store(operator, name="人民广场店", slug="peoples-square")
    visit = footprint(shopper, square, visits=2)[0]
    # An erasure asked for, and a copy asked for over the phone and answered with a link: the requests page
    # lists both, and the link's page opens.
    privacy_request_open(shopper=shopper, kind="erasure", channel="app")
    copy = privacy_request_open(shopper=shopper, kind="access", channel="staff", opened_by=UserFactory(is_staff=True))
    PrivacyRequest.objects.filter(pk=copy.pk).update(status=PrivacyRequest.Status.IDENTITY_VERIFIED)
    privacy_access_deliver(request=copy, staff=copy.opened_by)
    AccessLink.objects.filter(request=copy).update(token_hash=access_token_hash(ACCESS_TOKEN))  # the mail's token
    newcomer = UserFactory(email_verified_at=None)
    names = [name for each in (operator, other) for name in (each.name, each.legal_name, each.privacy_officer_name)]
    # What the devices named: the door, the shelf, the items bought and their currency.
    names += ["Door 1", "A3", "Green tea", "Red bean bun", "(tea)", "(bun)", "CNY"]
    names += [store.name, device.name, square.name]
    return {
        "operator": operator,
        "face_notice": versions["face_entry"],
        "shopper": shopper,
        "newcomer": newcomer,
        "visit": visit,
        "names": names,
    }


def log_in(page, shopper) -> None:
    page.goto("/login/")
    page.locator("#id_email").fill(shopper.email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def look_at(page, name: str, language: str, path: str | None, names: list[str], *, status: int = 200) -> list[str]:
    """Open a page; return what is wrong with it on a phone."""
    problems = []
    if path is not None:  # else the page is already open
        response = page.goto(path)
        if response is None or response.status != status:
            problems.append(f"{name}: {path} answered {response and response.status}")
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{language}-{name}.png"), full_page=True)
    if page.locator("html").get_attribute("lang") != language:
        problems.append(f"{name}: the page speaks {page.locator('html').get_attribute('lang')}, not {language}")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate(
            """(limit) => Array.from(document.querySelectorAll('body *'))
                .filter((e) => e.getBoundingClientRect().right > limit)
                .slice(0, 5).map((e) => e.tagName.toLowerCase() + '.' + e.className)""",
            PHONE["width"],
        )
        problems.append(f"{name}: {width} px wide in a {PHONE['width']} px screen ({wide})")
    if language == "zh-hans":
        text = page.evaluate("document.title + '\\n' + document.body.innerText")
        words = english_words(text, names)
        if words:
            problems.append(f"{name}: English on the Chinese page: {words}")
        punctuation = HALF_WIDTH_PUNCTUATION.findall(text)
        if punctuation:
            problems.append(f"{name}: ASCII punctuation in Chinese text: {punctuation}")
    return problems


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_shopper_page_fits_a_phone_and_speaks_one_language(page, language):
    world = demo_world(language=language)
    page.set_viewport_size(PHONE)
    paths = {
        name: reverse(f"portal:{name}", kwargs=entry.kwargs(world))
        + (f"?{urlencode(entry.query(world))}" if entry.query(world) else "")
        for name, entry in PAGES.items()
    }
    problems = []

    # Not signed in: the language is chosen in the header and sticks from page to page.
    page.goto("/")
    choose_language(page, language)
    for name in [name for name, entry in PAGES.items() if not entry.signed_in]:
        problems += look_at(page, name, language, paths[name], world["names"])

    # Logging in keeps the choice made before it, though the profile said otherwise.
    log_in(page, world["shopper"])
    assert page.locator("html").get_attribute("lang") == language
    world["shopper"].refresh_from_db()
    assert world["shopper"].language == language
    # The browser's name on the sessions page ("Chrome / Linux") is data, like the operators' names.
    world["names"] += list(WebSession.objects.filter(user=world["shopper"]).values_list("label", flat=True))
    for name in [name for name, entry in PAGES.items() if entry.signed_in]:
        problems += look_at(page, name, language, paths[name], world["names"])
    # The pass itself, as shown at the door after the form on its page is sent.
    page.goto(paths["entry_pass"])
    page.locator("main form.pass-scope button[type=submit]").click()
    page.wait_for_selector(".qr svg")
    problems += look_at(page, "entry_pass-shown", language, None, world["names"])
    # Signed in, the home page and the public pages are walked again with the signed-in header.
    problems += look_at(page, "home-signed-in", language, paths["home"], world["names"])
    problems += look_at(page, "notice_version-signed-in", language, paths["notice_version"], world["names"])
    # A page that is not there is a page too.
    problems += look_at(page, "not_found", language, "/consents/nobody/face_entry/decide/", world["names"], status=404)

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_face_page_asks_at_most_once_a_second_and_reloads_once_when_done(page, language):
    shopper = UserFactory(language=language)
    # An enrollment the worker has not taken yet: the page follows it.
    enrollment = Enrollment.objects.create(shopper=shopper, channel="web", photo_count=1)
    page.set_viewport_size(PHONE)
    log_in(page, shopper)
    navigations, status_requests = [], []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.on(
        "request", lambda request: "/api/v1/enrollments/" in request.url and status_requests.append(time.monotonic())
    )

    page.goto("/face/")
    page.wait_for_timeout(4_000)
    assert len(navigations) == 1, navigations  # the visit itself; no reload
    assert 2 <= len(status_requests) <= 5, status_requests
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The worker finishes, though no template is left to show (the face was deleted meanwhile, say):
    # the page reloads once to show the outcome, and then neither asks nor reloads any more.
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.DONE, finished_at=timezone.now())
    page.wait_for_timeout(4_000)
    assert len(navigations) == 2, navigations
    requests_after_reload = len(status_requests)
    page.wait_for_timeout(2_000)
    assert len(status_requests) == requests_after_reload and len(navigations) == 2
    gaps = [later - earlier for earlier, later in itertools.pairwise(status_requests)]
    assert all(gap >= 0.9 for gap in gaps), gaps
