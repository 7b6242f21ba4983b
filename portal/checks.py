"""System checks for a deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Why each cache cannot hold device nonces, failed-login counters and throttles.
UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps them in each process's memory, lost on restart",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "cannot add a key atomically across processes",
    "django.core.cache.backends.db.DatabaseCache": (
        "lets two processes add the same expired key, loses concurrent increments and evicts live entries"
    ),
}


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs) -> list[Error]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in UNSHARED_CACHES:
        return []
    return [
        Error(
            f"The default cache ({backend}) {UNSHARED_CACHES[backend]}: a replayed device request "
            "would be accepted again and login lockouts would not hold.",
            hint="Set CACHE_REDIS_URL or REDIS_URL (or use core.cache.SharedDatabaseCache).",
            id="portal.E001",
        )
    ]
