"""Check the audit log's hash chain and name the first broken entry."""

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero and names the first broken entry."

    def handle(self, *args, **options) -> None:
        report = audit_chain_verify()
        if not report.intact:
            entry = f" (id {report.broken_entry_id})" if report.broken_entry_id else ""
            raise CommandError(
                f"Audit chain broken at entry #{report.broken_sequence}{entry}: {report.reason}. "
                f"{report.checked} entries before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries verified."))
