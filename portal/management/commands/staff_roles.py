"""Give a staff member their roles: `manage.py staff_roles agent@example.com "Support agent"` (decision 0037).

The roles are "Support agent", "Privacy officer" and "Admin"; naming none takes every role away. Audited.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.audit import Actor
from core.errors import DomainError
from portal.models import User
from portal.staff.roles import ROLES
from portal.staff.services import staff_roles_set


class Command(BaseCommand):
    help = "Set a staff member's roles: Support agent, Privacy officer, Admin."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("roles", nargs="*", choices=ROLES, metavar="ROLE")

    def handle(self, *args, email: str, roles: list[str], **options):
        user = User.objects.filter(email__iexact=email, is_staff=True).first()
        if user is None:
            raise CommandError(f"No staff account has the address {email}.")
        try:
            staff_roles_set(actor=Actor.system(), user=user, roles=roles)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{user.email}: {', '.join(sorted(roles)) or 'no role'}")
