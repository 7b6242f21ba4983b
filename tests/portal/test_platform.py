"""Health, the OpenAPI schema, production settings, the worker layout and the demo seed."""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.urls import get_resolver
from openapi_spec_validator import validate

from core.audit import audit_chain_verify
from portal import workers
from portal.celery import app as celery_app
from portal.models import User
from stores import signing
from stores.models import Operator, Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "workers"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_answers_503_when_the_cache_is_down(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    monkeypatch.setattr("portal.health.cache", RedisCache("redis://127.0.0.1:1/0", {}))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_openapi_schema_validates_and_lists_every_endpoint(tmp_path):
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    validate(schema)
    documented = set(schema["paths"])
    routed = {
        # /consents/<uuid:public_id> is /consents/{public_id} in OpenAPI
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + str(pattern.pattern).lstrip("^").rstrip("$"))
        for pattern in _all_patterns(get_resolver().url_patterns)
    }
    api_routes = {route for route in routed if route.startswith("/api/v1/")}
    assert api_routes, "no API routes found"
    assert api_routes <= documented, api_routes - documented


def _generated_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_names_every_header_a_device_signs():
    schema = _generated_schema()
    schemes = schema["components"]["securitySchemes"]
    required = schema["paths"]["/api/v1/device/match"]["post"]["security"]
    assert len(required) == 1  # all four together, not any one of them
    assert {schemes[name]["name"] for name in required[0]} == set(signing.HEADERS)
    assert all(schemes[name]["in"] == "header" for name in required[0])


@pytest.mark.django_db
def test_an_empty_query_filter_is_documented_as_no_filter(api_client, shopper, token_for):
    parameters = _generated_schema()["paths"]["/api/v1/consents"]["get"]["parameters"]
    assert all(parameter["allowEmptyValue"] for parameter in parameters if parameter["in"] == "query")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(shopper)}")
    response = api_client.get("/api/v1/consents?status=&purpose=&operator=")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def _all_patterns(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _all_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:

            class Joined:
                pass

            joined = Joined()
            joined.pattern = prefix + str(pattern.pattern)
            yield joined


@pytest.mark.django_db
def test_swagger_ui_is_served_without_outside_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content
    assert client.get("/api/schema/").status_code == 200


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgres://faceconsent@db.internal:5432/faceconsent",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "SECRET_KEY": "x9$k2!q7" * 8,
        "ALLOWED_HOSTS": "portal.example.com",
        "SITE_URL": "https://portal.example.com",
        "TEMPLATE_KEYS": "k1:" + "A" * 43,
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.requirement("E3")
def test_production_refuses_to_start_without_template_keys(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgres://x@db.internal/x",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "SECRET_KEY": "s" * 50,
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "TEMPLATE_KEYS must be set when DATABASE_URL is set." in result.stderr


def test_production_refuses_to_start_without_a_shared_cache(tmp_path):
    """A cache in each process's memory would accept a replayed device request and forget lockouts."""
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgres://x@db.internal/x",
        "SECRET_KEY": "s" * 50,
        "TEMPLATE_KEYS": "k1:" + "A" * 43,
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert (
        "CACHE_REDIS_URL or REDIS_URL must be set when DATABASE_URL names a server database: "
        "nonces and login counters must be shared by every process."
    ) in result.stderr


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_check_deploy_refuses_a_cache_processes_do_not_share(settings, tmp_path, backend):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    with pytest.raises(SystemCheckError) as refused:
        call_command("check", "--deploy", "--tag", "caches")
    assert "portal.E001" in str(refused.value)
    assert f"The default cache ({backend})" in str(refused.value)


def test_the_cache_is_shared_in_every_mode(settings):
    """Redis with REDIS_URL; otherwise a table of the SQLite database every process opens."""
    expected = (
        "django.core.cache.backends.redis.RedisCache" if settings.CACHE_REDIS_URL else "core.cache.SharedDatabaseCache"
    )
    assert settings.CACHES["default"]["BACKEND"] == expected
    call_command("check", "--deploy", "--tag", "caches")  # no error


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": "postgres://x@db.internal/x", "VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DATABASE_URL is set." in result.stderr


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)
    assert Operator.objects.filter(name="Demo Mart").count() == 1
    assert Store.objects.filter(operator__slug="demo-mart").count() == 1
    shopper = User.objects.get(email="shopper@demo.faceconsent.local")
    assert shopper.check_password("demo-shopper-2026") and shopper.email_verified
    assert "shopper@demo.faceconsent.local / demo-shopper-2026" in capsys.readouterr().out
    assert audit_chain_verify().intact


@pytest.mark.django_db
def test_seed_demo_stays_out_of_deployments(settings):
    settings.EMBEDDED, settings.DEBUG = False, False
    with pytest.raises(CommandError, match="Refusing to seed a demo account into a deployment"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_workers_keep_database_connections_like_web_requests(settings):
    """Celery would close every connection around each task; workers keep them, and drop only the
    broken or the old ones (CONN_MAX_AGE), the way Django does around each request."""
    from unittest import mock

    from django.db import connection

    from portal.celery import _close_old_connections, app

    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 2**31
    task = mock.Mock(request=mock.Mock(is_eager=False))
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    kept = connection.connection
    _close_old_connections(task=task)
    assert connection.connection is kept
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _close_old_connections(task=task)
    assert connection.connection is None
    # A task run in the caller's process leaves the caller's connection (and its transaction) alone.
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    _close_old_connections(task=mock.Mock(request=mock.Mock(is_eager=True)))
    assert connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_a_request_leaves_its_database_connection_to_the_next():
    """On either database: opening a connection per request cost the door a millisecond on SQLite."""
    from django.db import close_old_connections, connection

    connection.close()
    connection.ensure_connection()
    kept = connection.connection
    close_old_connections()  # what Django does as each request starts and finishes
    assert connection.connection is kept
    with connection.cursor() as cursor:  # checked before reuse: a broken one is replaced, not a 500
        cursor.execute("SELECT 1")
    assert connection.connection is kept


@pytest.mark.django_db
def test_postgresql_prepares_the_statements_a_connection_repeats():
    """The door repeats the same few statements on every request; PostgreSQL keeps their plans."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite keeps no plans across statements")
    for _ in range(6):
        list(Operator.objects.filter(slug="a-slug-nobody-has"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "stores_operator"' in statement and "$1" in statement for statement in prepared), prepared


def test_gunicorn_in_production_serves_doors_from_threads(monkeypatch):
    """`gunicorn` in the project folder (the README's production command) reads gunicorn.conf.py."""
    from gunicorn.app.wsgiapp import WSGIApplication

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("WEB_THREADS", "12")
    monkeypatch.setattr(sys, "argv", ["gunicorn"])
    config = WSGIApplication().cfg

    assert config.worker_class_str == "gthread"
    assert config.threads == 12
    assert config.keepalive == 20
    assert config.wsgi_app == "portal.wsgi:application"


@pytest.mark.django_db
def test_the_icon_is_named_by_every_page_and_found_where_none_is(client, settings):
    """Without it the browser's request for /favicon.ico was a 404 in the console of every page."""
    settings.WHITENOISE_USE_FINDERS = True  # deployments serve collected files; tests read the sources
    assert (
        '<link rel="icon" href="/static/portal/favicon.svg" type="image/svg+xml">' in client.get("/").content.decode()
    )
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/portal/favicon.svg"
    assert client.get(response["Location"])["Content-Type"] == "image/svg+xml"


def test_every_queue_a_task_goes_to_has_exactly_one_kind_of_worker(settings):
    routed = {settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())}
    taken = [queue for role in workers.ROLES for queue in role.queues]
    assert sorted(taken) == sorted(routed)

    def queue_of(task: str) -> str:
        return celery_app.amqp.router.route({}, task)["queue"].name

    assert workers.MATCH.queues == (queue_of("stores.match_probe"),)
    assert queue_of("biometrics.enrollment_process") in workers.BACKGROUND.queues


def test_the_readme_runs_the_worker_layout_serve_runs():
    """The production commands in the README start the roles of portal/workers.py, no more, no fewer."""
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [shlex.split(line.split("#")[0]) for line in lines if "celery -A portal worker" in line]
    described = {command[command.index("--queues") + 1]: command for command in commands}

    assert set(described) == {role.queue_list for role in workers.ROLES}
    for role in workers.ROLES:
        command = described[role.queue_list]
        assert (command[:3] == ["nice", "-n", str(role.niceness)]) == bool(role.niceness)
        assert (command[command.index("--pool") + 1] if "--pool" in command else "prefork") == role.pool
