"""The shard map of the match workers (decision 0041), for the admins who run them:

    manage.py match_shards                       # each shard with its operators and their face consents
    manage.py match_shards create b              # a new shard (start workers with MATCH_SHARDS=b for it)
    manage.py match_shards move demo-mart b      # move an operator; the route switches once b holds it

Each change goes through the audited services.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.audit import Actor
from core.errors import DomainError
from stores.models import MatchShard, Operator
from stores.shards.services import match_shard_create, operator_shard_move


class Command(BaseCommand):
    help = "List the match shards, create one, or move an operator to another."

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["list", "create", "move"], default="list")
        parser.add_argument("names", nargs="*", help="create: SHARD; move: OPERATOR_SLUG SHARD")

    def handle(self, *args, action: str, names: list[str], **options):
        try:
            if action == "create":
                if len(names) != 1:
                    raise CommandError("create takes one shard name.")
                match_shard_create(actor=Actor.system(), name=names[0])
            elif action == "move":
                if len(names) != 2:
                    raise CommandError("move takes an operator's slug and a shard name.")
                operator = Operator.objects.filter(slug=names[0]).first()
                shard = MatchShard.objects.filter(name=names[1]).first()
                if operator is None or shard is None:
                    raise CommandError("No such operator or shard.")
                operator_shard_move(actor=Actor.system(), operator=operator, shard=shard)
        except DomainError as error:
            raise CommandError(error.message) from error
        loads = MatchShard.loads()
        for shard in MatchShard.objects.order_by("name"):
            operators = ", ".join(
                f"{operator.slug}" + (f" (moving to {operator.moving_to.name})" if operator.moving_to else "")
                for operator in shard.operators.select_related("moving_to").order_by("slug")
            )
            self.stdout.write(f"{shard.name}: {loads.get(shard.pk, 0)} face consents; operators: {operators or '-'}")
