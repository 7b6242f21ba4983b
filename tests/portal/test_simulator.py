"""The demo entrance device made by seed_demo, and the door simulator that calls the device API with it.

The simulator acts as the store's door, so it is for staff only: a shopper neither sees nor reaches it."""

import io
import json
import socket
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from consent.services import entry_pass_issue
from core.models import AuditEntry
from portal.models import User
from stores.models import Device, ProbeCounter, Store, StoreEvent, Visit
from stores.sealing import device_secret_open
from tests.biometrics.photos import astronaut_jpeg
from tests.conftest import staff_signed_in
from tests.factories import DEFAULT_PASSWORD, UserFactory, face_consent
from tests.portal.test_staff_second_factor import set_up_second_factor

DEMO_STAFF, DEMO_STAFF_PASSWORD = "staff@demo.faceconsent.local", "demo-staff-2026"
MISSING = "The demo device's credentials are missing"
NO_MATCH = "The door recognised nobody who consented to this store's operator. Only a daily counter is kept."
FIRST_VISIT = "First visit: show the collection notice"


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", force=True, stdout=out, **options)
    return out.getvalue()


def demo_device_json(var_dir) -> dict:
    return json.loads((var_dir / "demo-device.json").read_text())


def sealed_secret(device: Device) -> str:
    return device_secret_open(device.secret_nonce, device.secret_ciphertext, device_id=device.device_id)


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def staff(db):
    """A member of staff, who logs in through the admin."""
    return UserFactory(is_staff=True)


@pytest.fixture
def door(var_dir, settings):
    """The demo store and device seeded, and the simulator switched on (calling the device API in-process)."""
    settings.ENTRANCE_SIMULATOR = True
    seed()
    return Device.objects.get()


class TestSeedDemo:
    pytestmark = pytest.mark.django_db

    def test_the_store_goes_live_with_one_entrance_device(self, var_dir, settings):
        first = seed()
        store = Store.objects.get(slug="central")
        assert store.is_live and store.signage_confirmed_by == "Demo seed"
        device = Device.objects.get()
        assert (device.store, device.name, device.kind, device.location) == (
            store,
            "Demo Mart Central door",
            "entrance",
            "entrance",
        )
        written = demo_device_json(var_dir)
        assert written == {"url": settings.SITE_URL, "device_id": device.device_id, "secret": sealed_secret(device)}
        assert stat.S_IMODE((var_dir / "demo-device.json").stat().st_mode) == 0o600
        assert f"python -m stores.client --url {settings.SITE_URL} --device {device.device_id}" in first
        assert f"--secret {written['secret']} match --photo face.jpg" in first
        assert "entry-pass --token TOKEN" in first

        audit_entries = AuditEntry.objects.count()
        second = seed()
        assert second == first
        assert Device.objects.get() == device and demo_device_json(var_dir) == written
        assert AuditEntry.objects.count() == audit_entries  # nothing changed the second time

    def test_a_lost_file_means_a_new_secret(self, var_dir):
        seed()
        device = Device.objects.get()
        old_secret = demo_device_json(var_dir)["secret"]
        (var_dir / "demo-device.json").unlink()

        output = seed()
        device.refresh_from_db()
        new_secret = demo_device_json(var_dir)["secret"]
        assert Device.objects.get() == device and device.secret_rotated_at is not None
        assert new_secret != old_secret
        assert sealed_secret(device) == new_secret != old_secret  # the old one no longer verifies
        assert device.device_id in output and new_secret in output and old_secret not in output
        assert AuditEntry.objects.filter(action="device.secret_rotated", target_id=str(device.pk)).count() == 1

    def test_a_revoked_demo_device_is_replaced(self, var_dir):
        from core.audit import Actor
        from stores.services import device_revoke

        seed()
        revoked = device_revoke(actor=Actor.system(), device=Device.objects.get())
        seed()
        current = Device.objects.exclude(pk=revoked.pk).get()
        assert demo_device_json(var_dir)["device_id"] == current.device_id

    def test_the_printed_staff_login_leads_to_the_simulator(self, client, var_dir, settings):
        settings.ENTRANCE_SIMULATOR = True
        output = seed()
        staff_line = f"Staff:    {DEMO_STAFF} / {DEMO_STAFF_PASSWORD} (the admin at {settings.SITE_URL}/admin/;"
        assert staff_line in output and "the first sign-in sets up an authenticator app)" in output
        simulator = f"open the door simulator at {settings.SITE_URL}/simulator/"
        assert f"{simulator} (it asks for the admin's login and second factor)" in output
        staff = User.objects.get(email=DEMO_STAFF)
        assert staff.is_staff and staff.email_verified
        assert AuditEntry.objects.filter(action="account.staff_created", target_id=str(staff.pk)).count() == 1

        login = client.post("/admin/login/?next=/simulator/", {"username": DEMO_STAFF, "password": DEMO_STAFF_PASSWORD})
        assert login.status_code == 302 and login["Location"] == "/simulator/"
        set_up_second_factor(client, staff, next_path="/simulator/")
        assert client.get("/simulator/").status_code == 200
        seed()
        assert User.objects.filter(is_staff=True).count() == 1

    def test_refused_in_a_deployment_without_force(self, var_dir, settings):
        from django.core.management.base import CommandError

        settings.EMBEDDED, settings.DEBUG = False, False
        with pytest.raises(CommandError):
            call_command("seed_demo", stdout=io.StringIO())
        assert not Device.objects.exists() and not (var_dir / "demo-device.json").exists()


class TestAccess:
    pytestmark = pytest.mark.django_db

    def test_off_answers_404_to_everyone(self, client, shopper, settings):
        settings.ENTRANCE_SIMULATOR = False
        assert client.get("/simulator/").status_code == 404
        client.force_login(shopper)
        assert client.get("/simulator/").status_code == 404
        assert client.post("/simulator/", {"entry_pass": "x"}).status_code == 404

    def test_anonymous_visitors_are_sent_to_the_staff_login(self, client, settings):
        settings.ENTRANCE_SIMULATOR = True
        response = client.get("/simulator/")
        assert response.status_code == 302
        assert response["Location"] == "/admin/login/?next=/simulator/"

    def test_a_shopper_cannot_act_as_the_door(self, client, shopper, door):
        client.force_login(shopper)
        assert client.get("/simulator/").status_code == 403
        token = entry_pass_issue(shopper=shopper, channel="app").token
        assert client.post("/simulator/", {"entry_pass": token}).status_code == 403
        photo = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        assert photo.status_code == 403
        assert not ProbeCounter.objects.exists() and not Visit.objects.exists()

    def test_a_shoppers_menu_does_not_offer_it(self, client, shopper, settings):
        settings.ENTRANCE_SIMULATOR = True
        client.force_login(shopper)
        for url in ("/", "/consents/", "/profile/"):
            html = client.get(url).content.decode()
            assert "/simulator/" not in html and "Door simulator" not in html, url

    def test_staff_get_the_page(self, client, staff, settings, var_dir):
        settings.ENTRANCE_SIMULATOR = True
        staff_signed_in(client, staff)
        response = client.get("/simulator/")
        html = response.content.decode()
        assert response.status_code == 200 and "Door simulator" in html
        assert 'type="file"' in html and 'name="entry_pass"' in html
        assert '<script src="/static/portal/simulator.js" defer></script>' in html and 'id="camera"' in html

    def test_a_staff_login_through_the_admin_leads_to_it(self, client, staff, settings, var_dir):
        settings.ENTRANCE_SIMULATOR = True
        response = client.post(
            "/admin/login/?next=/simulator/",
            {"username": staff.email, "password": DEFAULT_PASSWORD, "next": "/simulator/"},
        )
        assert response.status_code == 302 and response["Location"] == "/simulator/"
        set_up_second_factor(client, staff, next_path="/simulator/")
        assert client.get("/simulator/").status_code == 200

    def test_without_the_demo_device_the_page_says_what_to_run(self, client, staff, settings, var_dir):
        settings.ENTRANCE_SIMULATOR = True
        staff_signed_in(client, staff)
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        html = response.content.decode()
        assert response.status_code == 200
        assert MISSING in html and "make run" in html and "seed_demo" in html
        assert str(var_dir / "demo-device.json") in html
        assert not ProbeCounter.objects.exists()

    def test_nothing_to_send(self, client, staff, settings, var_dir):
        settings.ENTRANCE_SIMULATOR = True
        seed()
        staff_signed_in(client, staff)
        html = client.post("/simulator/", {}).content.decode()
        assert "Choose a photo, take one with the camera, or paste an entry pass token." in html


@pytest.mark.django_db(transaction=True)
class TestWhereTheSimulatorSends:
    def test_over_http_to_the_configured_address(self, client, staff, door, live_server, settings):
        settings.SIMULATOR_DEVICE_API_URL = live_server.url
        staff_signed_in(client, staff)
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        assert response.context["answer"] == {"kind": "no_match"}
        assert ProbeCounter.objects.get(device=door).no_match == 1

    def test_an_unreachable_configured_address_is_said(self, client, staff, door, settings):
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        settings.SIMULATOR_DEVICE_API_URL = f"http://127.0.0.1:{port}"
        staff_signed_in(client, staff)
        answer = client.post("/simulator/", {"entry_pass": "whatever"}).context["answer"]
        assert (answer["kind"], answer["code"]) == ("error", "device_api_unreachable")
        assert f"http://127.0.0.1:{port}" in answer["message"]


@pytest.mark.django_db(transaction=True)
class TestTheDoorThroughTheSimulator:
    def test_a_stranger_is_no_match(self, client, staff, door):
        staff_signed_in(client, staff)
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        html = response.content.decode()
        assert response.status_code == 200
        assert response.context["answer"] == {"kind": "no_match"}
        assert NO_MATCH in html and FIRST_VISIT not in html
        # What the page promises is what these tests show: a signed request, checked
        # like any device's (in-process unless an address is configured), and nothing kept.
        assert "signed with the demo device's secret" in html and "checked like any device's" in html
        assert "HTTP" not in html.split("<main")[1].split("</main>")[0]
        # The signed request reached the device API as the demo device: its counter moved.
        assert ProbeCounter.objects.get(device=door).no_match == 1

    def test_a_garbage_file_shows_the_error_code(self, client, staff, door):
        staff_signed_in(client, staff)
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", b"not an image at all")})
        answer = response.context["answer"]
        assert (answer["kind"], answer["status"], answer["code"]) == ("error", 400, "unreadable_image")
        html = response.content.decode()
        assert "<code>unreadable_image</code>" in html and answer["message"] in html

    def test_a_photo_over_the_size_limit_is_refused_before_it_is_sent(self, client, staff, door, settings):
        staff_signed_in(client, staff)
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = settings.ENROLL_MAX_PHOTO_BYTES = 10_000
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        assert response.context["answer"] is None
        assert response.context["form"].errors["photo"] == ["The image is too large."]
        assert ProbeCounter.objects.filter(device=door).count() == 0

    @pytest.mark.requirement("C11")
    def test_a_consenting_shopper_is_recognised_and_told_of_the_first_visit(self, client, api_client, staff, door):
        shopper = UserFactory()
        face_consent(shopper, door.store.operator)
        api_client.force_authenticate(shopper)
        enrolled = api_client.post(
            "/api/v1/enrollments",
            {"photos": [SimpleUploadedFile("me.jpg", astronaut_jpeg())]},
            format="multipart",
        )
        assert enrolled.status_code == 202

        staff_signed_in(client, staff)
        response = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        answer = response.context["answer"]
        visit = Visit.objects.get()
        assert answer["kind"] == "match" and answer["first_visit"] is True
        assert answer["visit_id"] == str(visit.public_id) and answer["shopper_ref"].startswith("shp_")
        html = response.content.decode()
        assert FIRST_VISIT in html and answer["shopper_ref"] in html and str(visit.public_id) in html
        assert (visit.shopper, visit.device) == (shopper, door)
        # The page showed the collection notice, and the simulated door said so (C11).
        visit.refresh_from_db()
        assert visit.notice_shown_at is not None
        assert StoreEvent.objects.get(visit=visit).notice_version == shopper.consents.get().notice_version

        again = client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", astronaut_jpeg())})
        assert again.context["answer"]["first_visit"] is False
        assert FIRST_VISIT not in again.content.decode()

    @pytest.mark.requirement("C9")
    def test_an_entry_pass_alone_lets_a_shopper_in(self, client, shopper, staff, door):
        token = entry_pass_issue(shopper=shopper, channel="app").token
        staff_signed_in(client, staff)
        answer = client.post("/simulator/", {"entry_pass": token}).context["answer"]
        assert answer["kind"] == "match" and answer["first_visit"] is False  # no face, no collection notice
        assert Visit.objects.get().method == Visit.Method.ENTRY_PASS
        again = client.post("/simulator/", {"entry_pass": token}).context["answer"]
        assert (again["kind"], again["status"], again["code"]) == ("error", 409, "pass_used")

    @pytest.mark.requirement("M3")
    def test_the_photo_is_not_kept(self, client, staff, door, settings):
        from pathlib import Path

        from biometrics import engine
        from tests.biometrics.leaks import leaks

        probe = astronaut_jpeg()
        staff_signed_in(client, staff)
        client.post("/simulator/", {"photo": SimpleUploadedFile("face.jpg", probe)})
        folders = [Path(settings.MEDIA_ROOT), Path(settings.VAR_DIR)]
        assert leaks(probe, engine.probe_encoding(probe), folders=folders) == []
