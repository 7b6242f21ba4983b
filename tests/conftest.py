"""Fixtures shared by the whole suite."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from rest_framework.test import APIClient

from portal.celery import app as celery_app
from tests import requirements_table
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.worker import celery_worker_process, real_worker  # noqa: F401  (fixtures)


def pytest_collection_modifyitems(config, items):
    """A `requirement` mark names rows of docs/requirements.md only: a mistyped id stops the run instead of
    counting for nothing (docs/decisions/0038)."""
    requirements_table.marks_check(items, requirements_table.rows_read(config.rootpath / requirements_table.ROWS_FILE))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing is slow on purpose; the tests check behaviour, not its cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def template_keys_file(tmp_path_factory):
    return tmp_path_factory.mktemp("keys") / "template_keys"


@pytest.fixture(autouse=True)
def _test_template_keys(settings, template_keys_file):
    """Tests never touch the checkout's own key file (var/template_keys)."""
    settings.TEMPLATE_KEYS_FILE = template_keys_file


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Deployments serve hashed static files after collectstatic; tests read the sources."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _tasks_in_process(request, settings):
    """Unit tests run tasks in their own process; integration tests ask for `real_worker`."""
    if "real_worker" in request.fixturenames:
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_match_indexes():
    """Tasks run in this process in unit tests, so its match indexes must start empty each time."""
    from stores.door.matching import INDEXES

    INDEXES.reset()
    yield
    INDEXES.reset()


# What gives a test the database, by name; the django_db mark does too.
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Nonces and throttle counters live in the cache; no test may see another's.

    In the embedded default the cache is a table of the test database: only a test that may use
    the database can reach it, and it is cleared once that database is set up. A test may swap
    the cache in its settings; the one the suite runs on is the one cleared after it.
    """
    shared = caches["default"]
    if not isinstance(shared, BaseDatabaseCache):
        shared.clear()
        yield
        shared.clear()
        return
    if not DATABASE_FIXTURES & set(request.fixturenames) and not request.node.get_closest_marker("django_db"):
        yield
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        shared.clear()
    yield
    with blocker.unblock():
        shared.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def other_shopper(db):
    return UserFactory()


@pytest.fixture
def token_for(api_client):
    """Log a user in through the API and return the bearer token."""

    def login(user, password: str = DEFAULT_PASSWORD) -> str:
        response = api_client.post("/api/v1/auth/login", {"email": user.email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()["token"]

    return login


def assert_error(response, status: int, code: str, message: str | None = None) -> dict:
    """Every error answers {"error": {"code", "message", "fields"}} with the right status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if message is not None:
        assert body["error"]["message"] == message
    return body["error"]


def second_factor_passed(client, user) -> None:
    """A staff member signed in on this test client goes past their second factor, as `django_otp.login`
    leaves the session (the code itself: tests/portal/test_staff_second_factor.py)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def staff_signed_in(client, user):
    """`client` signed in as the staff member `user`, second factor passed."""
    client.force_login(user)
    second_factor_passed(client, user)
    return client


@pytest.fixture
def admin_client(db, admin_user, client):
    """pytest-django's admin client, past the second factor every staff member needs (decision 0035)."""
    return staff_signed_in(client, admin_user)
