"""Run the gallery check for one operator now, in a match worker, and print what it found."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import NotFound
from stores.models import GalleryCheck
from stores.selectors import gallery_check_latest, operator_get_by_slug
from stores.services import gallery_check_send


class Command(BaseCommand):
    help = (
        "Check one operator's gallery now: a match worker (where the indexes are) searches each sampled shopper "
        "against the others with the door's rule, stores the threshold the door will use and whether 1:N stays "
        "on; this prints the figures per threshold. Without a broker it runs in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument("operator", metavar="OPERATOR_SLUG")
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait for the worker.")

    def handle(self, *args, operator: str, timeout: float, **options) -> None:
        try:
            found = operator_get_by_slug(slug=operator)
        except NotFound as error:
            raise CommandError(f"No operator {operator!r}.") from error
        before = gallery_check_latest(operator=found)
        gallery_check_send(operator_id=found.pk, trigger=GalleryCheck.Trigger.ON_DEMAND)
        deadline = time.monotonic() + timeout
        # The row this run stores: a check the gallery's growth triggered meanwhile is not this one.
        asked = GalleryCheck.objects.filter(
            operator=found, trigger=GalleryCheck.Trigger.ON_DEMAND, id__gt=before.pk if before else 0
        )
        while (check := asked.order_by("id").first()) is None:
            if time.monotonic() > deadline:
                raise CommandError(f"No match worker stored a check within {timeout:.0f} s; is one running?")
            time.sleep(0.2)
        self._print(check)

    @staticmethod
    def _genuine_side(check: GalleryCheck) -> str:
        if not check.figures:
            return ""
        genuine, entries = check.figures[0]["genuine"], check.figures[0].get("genuine_entries", 0)
        return f"; genuine probes: {genuine - entries} from shoppers' other templates, {entries} confirmed entries"

    def _print(self, check: GalleryCheck) -> None:
        write = self.stdout.write
        write(
            f"{check.operator.slug}: {check.gallery_size} shoppers, "
            f"{check.figures[0]['strangers'] if check.figures else 0} searched against the others"
            f"{' (a random sample)' if check.sampled else ''}; "
            f"target FPIR {check.target_fpir:g}, true identification floor {check.tir_floor:g}, margin {check.margin:g}"
            + self._genuine_side(check)
        )
        write(f"{'threshold':>9} {'strangers':>9} {'false':>6} {'FPIR':>8} {'FPIR 95%':>8} {'genuine':>7} {'TIR':>6}")
        for row in check.figures:
            write(
                f"{row['threshold']:>9.3f} {row['strangers']:>9} {row['false_matches']:>6} {row['fpir']:>8.4f} "
                f"{row['fpir_upper']:>8.4f} {row['genuine']:>7} "
                + (f"{row['tir']:>6.3f}" if row.get("tir") is not None else f"{'-':>6}")
            )
        chosen = "none" if check.threshold is None else f"{check.threshold:g}"
        write(f"threshold in force: {chosen}; 1:N {'on' if check.one_to_n else 'OFF (one_to_one_required)'}")
        write(f"reason: {check.reason}")
