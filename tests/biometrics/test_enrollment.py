"""Enrollment through the API with the real engine (tasks run in-process here)."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate
from biometrics.protection import TemplateDecryptionError
from biometrics.services import template_encodings
from biometrics.tasks import enrollment_process_task
from consent.services import consent_withdraw
from core.models import AuditEntry
from tests.biometrics.photos import astronaut_array, astronaut_jpeg, encode, kit_photo
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, face_consent

pytestmark = pytest.mark.django_db

ENROLL = "/api/v1/enrollments"


def upload(*photos: bytes):
    return {"photos": [SimpleUploadedFile(f"photo{n}.jpg", data, "image/jpeg") for n, data in enumerate(photos)]}


@pytest.fixture
def enroll(api_client, django_capture_on_commit_callbacks):
    """POST photos as `user` and run the queued task; returns (POST response, finished enrollment JSON)."""

    def run(user, *photos: bytes):
        api_client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(ENROLL, upload(*photos), format="multipart")
        if response.status_code != 202:
            return response, None
        return response, api_client.get(f"{ENROLL}/{response.json()['id']}").json()

    return run


@pytest.mark.requirement("E1")
class TestEnroll:
    @pytest.mark.requirement("E3")
    def test_one_face_enrolls_and_is_sealed(self, enroll, consenting, settings):
        response, finished = enroll(consenting, astronaut_jpeg())

        assert response.status_code == 202
        assert response.json()["status"] == "queued" and response.json()["photo_count"] == 1
        assert finished["status"] == "done"
        assert finished["results"] == [{"photo": 1, "accepted": True, "code": None, "message": ""}]
        template = FaceTemplate.objects.get(shopper=consenting)
        assert template.key_id == key_ring().active_key_id
        opened = template_encodings(shopper=consenting)[0]
        assert opened.shape == (128,)
        actions = list(AuditEntry.objects.values_list("action", flat=True))
        assert "enrollment.queued" in actions and "enrollment.done" in actions

    def test_several_photos_of_one_person_give_several_templates(self, enroll, consenting):
        _, finished = enroll(consenting, kit_photo("obama/obama_1.jpg"), kit_photo("obama/obama_2.jpg"))
        assert finished["status"] == "done"
        assert FaceTemplate.objects.filter(shopper=consenting).count() == 2

    @pytest.mark.parametrize("content", [b"just some text", b"GIF89a not accepted here"])
    def test_a_file_that_is_no_jpeg_png_or_webp_is_refused_at_once(self, enroll, consenting, content):
        """Answered 415 before anything is queued, not 202 and a refusal from the worker later."""
        response, _ = enroll(consenting, astronaut_jpeg(), content)
        assert_error(response, 415, "unsupported_media_type", "Send photos as JPEG, PNG or WebP images.")
        assert response.json()["error"]["fields"] == {
            "photos": [{"code": "unsupported_media_type", "message": "Send photos as JPEG, PNG or WebP images."}]
        }
        assert not Enrollment.objects.exists()

    def test_each_refused_photo_says_why(self, enroll, consenting):
        _, finished = enroll(
            # A JPEG cut off after its first bytes: a JPEG by its signature, unreadable to the engine.
            consenting,
            kit_photo("multi/two_people.jpg"),
            astronaut_jpeg()[:300],
            kit_photo("obama/obama_240p.jpg"),
        )
        assert finished["status"] == "refused" and finished["reason"] == "no_usable_photo"
        assert [(r["photo"], r["code"]) for r in finished["results"]] == [
            (1, "several_faces"),
            (2, "unreadable_image"),
            (3, "face_too_small"),
        ]
        assert finished["results"][0]["message"] == "The photo shows more than one face; use a photo of you alone."
        assert not FaceTemplate.objects.exists()

    def test_a_bad_photo_beside_a_good_one(self, enroll, consenting):
        _, finished = enroll(consenting, astronaut_jpeg(), kit_photo("multi/kit_with_rose.jpg"))
        assert finished["status"] == "done"
        assert [r["accepted"] for r in finished["results"]] == [True, False]
        assert FaceTemplate.objects.count() == 1

    def test_photos_of_different_people_are_refused(self, enroll, consenting):
        _, finished = enroll(consenting, astronaut_jpeg(), kit_photo("obama/obama_1.jpg"))
        assert finished["status"] == "refused" and finished["reason"] == "faces_do_not_match"
        assert not FaceTemplate.objects.exists()

    def test_re_enrollment_replaces_the_templates(self, enroll, consenting):
        enroll(consenting, astronaut_jpeg())
        first = set(FaceTemplate.objects.values_list("pk", flat=True))
        enroll(consenting, encode(astronaut_array(), "PNG"))
        second = set(FaceTemplate.objects.values_list("pk", flat=True))
        assert len(second) == 1 and first.isdisjoint(second)


class TestRefusedUpFront:
    @pytest.mark.requirement("C1")
    def test_without_consent(self, enroll, shopper):
        response, _ = enroll(shopper, astronaut_jpeg())
        assert_error(
            response, 403, "consent_required", "Give face recognition consent to at least one store operator first."
        )
        assert not Enrollment.objects.exists()

    @pytest.mark.requirement("C8")
    def test_under_age(self, enroll, shopper, settings):
        face_consent(shopper)
        settings.MINIMUM_AGE = 60
        response, _ = enroll(shopper, astronaut_jpeg())
        assert_error(response, 403, "under_minimum_age", "Face recognition is only available from the age of 60.")

    @pytest.mark.requirement("E1")
    def test_no_photo(self, enroll, consenting):
        response, _ = enroll(consenting)
        assert_error(response, 400, "photos_required", "Send at least one photo.")

    @pytest.mark.requirement("E1")
    def test_four_photos(self, enroll, consenting):
        response, _ = enroll(consenting, *[astronaut_jpeg()] * 4)
        assert_error(response, 400, "too_many_photos", "Send at most 3 photos.")

    @pytest.mark.requirement("E1")
    def test_a_photo_over_the_size_limit(self, enroll, consenting, settings):
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = settings.ENROLL_MAX_PHOTO_BYTES = 10_000
        response, _ = enroll(consenting, astronaut_jpeg())
        assert_error(response, 400, "image_too_large", "The image is too large.")

    def test_json_is_the_wrong_content_type(self, api_client, consenting):
        api_client.force_authenticate(consenting)
        assert_error(api_client.post(ENROLL, {"photos": []}, format="json"), 415, "unsupported_media_type")

    def test_one_at_a_time(self, api_client, consenting):
        api_client.force_authenticate(consenting)
        # Without running the task, the first enrollment stays queued.
        assert api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart").status_code == 202
        response = api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart")
        assert_error(response, 409, "enrollment_in_progress")

    def test_someone_elses_enrollment_is_not_found(self, enroll, api_client, consenting):
        response, _ = enroll(consenting, astronaut_jpeg())
        api_client.force_authenticate(UserFactory())
        assert_error(api_client.get(f"{ENROLL}/{response.json()['id']}"), 404, "enrollment_not_found")

    def test_anonymous(self, api_client, db):
        assert_error(api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart"), 401, "not_authenticated")


class TestTemplateLifecycle:
    def test_the_shopper_deletes_the_templates(self, enroll, api_client, consenting):
        enroll(consenting, astronaut_jpeg())
        assert api_client.get("/api/v1/face").json()["enrolled"] is True
        assert api_client.delete("/api/v1/face").status_code == 204
        assert not FaceTemplate.objects.exists()
        assert api_client.get("/api/v1/face").json() | {"latest_enrollment": None} == {
            "enrolled": False,
            "templates": 0,
            "enrolled_at": None,
            "latest_enrollment": None,
            "max_photos": 3,
        }
        assert AuditEntry.objects.get(action="templates.deleted").data == {
            "count": 1,
            "reason": "deleted by the shopper",
        }

    @pytest.mark.requirement("C6")
    def test_withdrawing_the_last_face_consent_deletes_them(self, enroll, shopper):
        first = face_consent(shopper)
        second = face_consent(shopper, OperatorFactory())
        enroll(shopper, astronaut_jpeg())

        consent_withdraw(consent=first, channel="app")
        assert FaceTemplate.objects.filter(shopper=shopper).count() == 1  # another operator still holds consent

        consent_withdraw(consent=second, channel="app")
        assert not FaceTemplate.objects.filter(shopper=shopper).exists()
        entry = AuditEntry.objects.get(action="templates.deleted")
        assert entry.data == {"count": 1, "reason": "face_entry withdrawn"}

    @pytest.mark.requirement("C1", "C6")
    def test_consent_withdrawn_while_queued_stores_nothing(
        self, api_client, consenting, django_capture_on_commit_callbacks
    ):
        api_client.force_authenticate(consenting)
        with django_capture_on_commit_callbacks() as queued:
            enrollment_id = api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart").json()["id"]
        consent_withdraw(consent=consenting.consents.get(), channel="app")
        for callback in queued:
            callback()
        enrollment = Enrollment.objects.get(public_id=enrollment_id)
        assert (enrollment.status, enrollment.reason) == ("refused", "consent_required")
        assert not FaceTemplate.objects.exists()

    def test_the_task_is_safe_to_deliver_twice(self, api_client, consenting, django_capture_on_commit_callbacks):
        api_client.force_authenticate(consenting)
        with django_capture_on_commit_callbacks() as queued:
            api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart")
        with mock_apply_async() as sent:
            queued[0]()
        enrollment_id, sealed = sent[0]
        assert enrollment_process_task.apply(args=[enrollment_id, sealed]).get() == "done"
        templates = list(FaceTemplate.objects.values_list("pk", flat=True))
        assert enrollment_process_task.apply(args=[enrollment_id, sealed]).get() is None
        assert list(FaceTemplate.objects.values_list("pk", flat=True)) == templates

    @pytest.mark.requirement("E2")
    def test_the_task_message_carries_sealed_photos_only(
        self, api_client, consenting, django_capture_on_commit_callbacks
    ):
        photo = astronaut_jpeg()
        api_client.force_authenticate(consenting)
        with django_capture_on_commit_callbacks() as queued:
            api_client.post(ENROLL, upload(photo), format="multipart")
        with mock_apply_async() as sent:
            queued[0]()
        import base64

        _, sealed = sent[0]
        assert sent.argsrepr.endswith("<1 sealed photos>)")
        ciphertext = base64.b64decode(sealed[0])
        assert photo[:64] not in ciphertext and photo[1000:1064] not in ciphertext


@pytest.mark.requirement("E3")
class TestKeys:
    def test_a_template_opens_to_the_encoding_and_fails_loudly_with_the_wrong_key(self, enroll, consenting, settings):
        from biometrics import engine

        enroll(consenting, astronaut_jpeg())
        expected = engine.analyse_for_enrollment(astronaut_jpeg()).encoding
        assert np.allclose(template_encodings(shopper=consenting)[0], expected)
        from biometrics.protection import generate_key

        settings.TEMPLATE_KEYS = f"k1:{generate_key()}"  # same id, another key
        with pytest.raises(TemplateDecryptionError):
            template_encodings(shopper=consenting)

    def test_rotation_moves_every_template_to_the_new_key(self, enroll, consenting, capsys, settings, tmp_path):
        settings.TEMPLATE_KEYS, settings.TEMPLATE_KEYS_FILE = "", tmp_path / "template_keys"  # embedded default
        enroll(consenting, astronaut_jpeg())
        other = UserFactory()
        face_consent(other)
        enroll(other, encode(astronaut_array(), "PNG"))
        before = {user.pk: template_encodings(shopper=user) for user in (consenting, other)}

        call_command("rotate_template_keys", "--new-key", "k2")

        assert set(FaceTemplate.objects.values_list("key_id", flat=True)) == {"k2"}
        for user in (consenting, other):
            assert all(
                np.array_equal(a, b) for a, b in zip(template_encodings(shopper=user), before[user.pk], strict=True)
            )
        assert "2 templates re-encrypted; every template is now under key 'k2'." in capsys.readouterr().out
        assert AuditEntry.objects.filter(action="templates.rekeyed").exists()

    def test_rotation_with_keys_from_the_environment(self, enroll, consenting, settings):
        from biometrics.protection import generate_key

        settings.TEMPLATE_KEYS = f"old:{generate_key()}"
        enroll(consenting, astronaut_jpeg())
        before = template_encodings(shopper=consenting)
        settings.TEMPLATE_KEYS += f",new:{generate_key()}"
        call_command("rotate_template_keys")
        assert set(FaceTemplate.objects.values_list("key_id", flat=True)) == {"new"}
        settings.TEMPLATE_KEYS = settings.TEMPLATE_KEYS.split(",")[1]  # the old key is gone
        assert np.array_equal(template_encodings(shopper=consenting)[0], before[0])


class mock_apply_async:
    """Capture what would be sent to the broker instead of sending it."""

    def __enter__(self):
        from unittest import mock

        self.calls = []
        self.argsrepr = ""
        outer = self

        def fake(args=None, argsrepr="", **kwargs):
            outer.calls.append(tuple(args))
            outer.argsrepr = argsrepr

        self._patch = mock.patch.object(enrollment_process_task, "apply_async", side_effect=fake)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()

    def __getitem__(self, index):
        return self.calls[index]


@pytest.mark.requirement("E2")
def test_no_photo_and_no_clear_encoding_is_kept_anywhere(enroll, consenting, settings):
    from pathlib import Path

    from biometrics import engine
    from tests.biometrics.leaks import leaks

    photo = kit_photo("obama/obama_1.jpg")
    _, finished = enroll(consenting, photo)
    assert finished["status"] == "done"
    encoding = engine.analyse_for_enrollment(photo).encoding
    assert leaks(photo, encoding, folders=[Path(settings.MEDIA_ROOT)]) == []


@pytest.mark.requirement("E2")
def test_the_leak_scan_finds_what_it_looks_for(consenting):
    """The scan itself works: a photo or an encoding put where it must not be is found."""
    from biometrics import engine
    from tests.biometrics.leaks import leaks

    photo = astronaut_jpeg()
    encoding = engine.analyse_for_enrollment(photo).encoding
    Enrollment.objects.create(
        shopper=consenting, channel="app", photo_count=1, results=[{"leaked": [float(v) for v in encoding]}]
    )
    assert any("encoding as json" in place for place in leaks(photo, encoding))
    assert any("photo bytes" in place for place in leaks(photo, encoding, extra=[("blob", b"x" + photo)]))


class TestTaskFailures:
    @pytest.fixture
    def queued(self, api_client, consenting, django_capture_on_commit_callbacks):
        api_client.force_authenticate(consenting)
        with django_capture_on_commit_callbacks() as callbacks:
            api_client.post(ENROLL, upload(astronaut_jpeg()), format="multipart")
        with mock_apply_async() as sent:
            callbacks[0]()
        return sent[0]

    def test_a_database_hiccup_is_retried(self, queued):
        from unittest import mock

        from django.db import OperationalError

        from biometrics.processing import enrollment_process

        calls = []

        def flaky(**kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise OperationalError("connection reset")
            return enrollment_process(**kwargs)

        with (
            mock.patch("biometrics.processing.enrollment_process", side_effect=flaky),
            mock.patch.object(enrollment_process_task, "retry", side_effect=lambda **kw: kw["exc"]) as retry,
            pytest.raises(OperationalError),
        ):
            enrollment_process_task.apply(args=queued, throw=True)
        assert retry.call_count == 1 and retry.call_args.kwargs["countdown"] == 1
        # The redelivered message finishes the job.
        assert enrollment_process_task.apply(args=queued).get() == "done"

    def test_a_bug_fails_the_enrollment_without_retrying(self, queued):
        from unittest import mock

        with (
            mock.patch("biometrics.processing.enrollment_process", side_effect=ValueError("bug")),
            mock.patch.object(enrollment_process_task, "retry") as retry,
            pytest.raises(ValueError),
        ):
            enrollment_process_task.apply(args=queued, throw=True)
        assert retry.call_count == 0
        enrollment = Enrollment.objects.get()
        assert (enrollment.status, enrollment.reason) == ("failed", "processing_failed")
        assert AuditEntry.objects.filter(action="enrollment.failed").exists()

    def test_the_time_limit_fails_it_cleanly(self, queued):
        from unittest import mock

        from celery.exceptions import SoftTimeLimitExceeded

        with mock.patch("biometrics.processing.enrollment_process", side_effect=SoftTimeLimitExceeded()):
            assert enrollment_process_task.apply(args=queued).get() == "failed"
        assert Enrollment.objects.get().reason == "timed_out"

    def test_the_task_has_limits_and_is_late_acknowledged(self):
        assert enrollment_process_task.acks_late and enrollment_process_task.reject_on_worker_lost
        assert enrollment_process_task.soft_time_limit == 120 and enrollment_process_task.time_limit == 150
        from portal.celery import app

        assert app.amqp.router.route({}, "biometrics.enrollment_process")["queue"].name == "enroll"
