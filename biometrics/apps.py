from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "biometrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the enrollment task in every process, so a web process sends it by name (eagerly
        # where there is no broker); the module is light, the engine loads only where the task runs.
        from biometrics import tasks  # noqa: F401
