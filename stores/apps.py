from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the door's match task in every process, so the door sends it by name; the module is
        # light, the engine and the index load only where the task runs.
        from stores import tasks  # noqa: F401
