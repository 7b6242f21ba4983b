from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal import (
            checks,  # noqa: F401  (registers the deployment checks)
            tasks,  # noqa: F401  (registers the erasure task, sent by name from web processes)
        )
