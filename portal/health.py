"""`/healthz`: is the database, the cache, the broker and a worker there?"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app

WORKER_PING_TIMEOUT = 1.0
HEALTH_CACHE_KEY = "healthz:probe"


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check() or {}
        result = {"status": "ok", **detail}
    except Exception as error:  # any failure of a dependency is a report, not a crash
        result = {"status": "down", "error": type(error).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _cache() -> dict:
    # A read: the probe answers whether the cache is there without writing to it (a GET never
    # writes; in the embedded default the cache is a database table).
    cache.get(HEALTH_CACHE_KEY)
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in_process"}
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport_cls}


def _workers() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in_process"}
    # The first answer is enough to know tasks will run; waiting for all would slow every probe.
    replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return {"answered": next(iter(replies[0]))}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _timed(_database),
        "cache": _timed(_cache),
        "broker": _timed(_broker),
        "workers": _timed(_workers),
    }
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)
