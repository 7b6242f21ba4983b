"""Re-seal every face template under the active template key."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from biometrics.keys import key_file_add, key_ring
from biometrics.models import FaceTemplate
from biometrics.protection import generate_key
from biometrics.services import templates_rotate_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every face template under the active key. With TEMPLATE_KEYS, add the new key "
        "there first (last, or named by TEMPLATE_ACTIVE_KEY_ID) on every server and worker, then run "
        "this; --generate prints a new key to add. In the embedded default, --new-key adds one to "
        "var/template_keys and makes it active."
    )

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new key entry and exit.")
        parser.add_argument("--new-key", metavar="KEY_ID", help="Embedded default only: add a key with this id.")

    def handle(self, *args, generate: bool = False, new_key: str | None = None, **options) -> None:
        if generate:
            self.stdout.write(f"{new_key or 'k2'}:{generate_key()}")
            return
        if new_key:
            if settings.TEMPLATE_KEYS:
                raise CommandError("Keys come from TEMPLATE_KEYS here: add the new key there, then run again.")
            if new_key in key_ring().key_ids:
                raise CommandError(f"A key named {new_key!r} already exists.")
            key_file_add(new_key)
        ring = key_ring()
        rotated = templates_rotate_key()
        left = FaceTemplate.objects.exclude(key_id=ring.active_key_id).count()
        if left:
            raise CommandError(f"{left} templates are still under another key.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{rotated} templates re-encrypted; every template is now under key {ring.active_key_id!r}."
            )
        )
