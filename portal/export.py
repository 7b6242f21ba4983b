"""The shopper's export (F3, GDPR 20): everything held about them in one zip, JSON and CSV per kind, a README
that explains each file and column, and the JSON Schema the JSON files validate against.

One table (`KINDS`) says what each file holds; the files, the README and the schema are all made from it,
so they cannot disagree. The zip is written while it is sent (zipstream-ng) and each kind is read in
chunks, so memory stays flat whatever the footprint's size. Templates and photos are never exported:
the face is not kept as a photo, and a template is protected even from its owner's download (S2).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from zipstream import ZIP_DEFLATED, ZipStream

from biometrics.models import Enrollment
from consent.models import Consent, ConsentEvent
from portal.models import User
from portal.receipts import consent_receipt
from stores.models import MatchEvent, Notification, PurchaseItem, StoreEvent, Visit

SCHEMA_PATH = Path(__file__).resolve().parent / "export_schema.json"
CHUNK = 2000


@dataclass(frozen=True)
class Column:
    name: str
    read: Callable[[Any], Any]
    type: str  # JSON Schema type: string, integer, number, boolean (with "null" when `nullable`)
    description: str
    nullable: bool = False
    format: str | None = None  # date-time, date, uuid, email


@dataclass(frozen=True)
class Kind:
    name: str  # the files are NAME.json and NAME.csv
    description: str
    rows: Callable[[Any], QuerySet]
    columns: tuple[Column, ...]


def _at(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _decimal(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


def _when(name: str, description: str, *, nullable: bool = False) -> Column:
    return Column(name, lambda row, name=name: _at(getattr(row, name)), "string", description, nullable, "date-time")


KINDS: tuple[Kind, ...] = (
    Kind(
        "account",
        "Your account: one row.",
        lambda shopper: User.objects.filter(pk=shopper.pk),
        (
            Column("id", lambda user: str(user.public_id), "string", "Your account's id.", format="uuid"),
            Column("email", lambda user: user.email, "string", "Your email address.", format="email"),
            Column("display_name", lambda user: user.display_name, "string", "The name you chose."),
            Column(
                "date_of_birth", lambda user: _at(user.date_of_birth), "string", "Your date of birth.", True, "date"
            ),
            Column("language", lambda user: user.language, "string", "The language pages and mails use."),
            Column("time_zone", lambda user: user.time_zone, "string", "Your time zone (empty: the store's)."),
            _when("date_joined", "When you signed up."),
            _when("email_verified_at", "When you confirmed your email address.", nullable=True),
        ),
    ),
    Kind(
        "consents",
        "Every consent you gave, one row each, with its state now.",
        lambda shopper: Consent.objects.filter(shopper=shopper).select_related("operator", "notice_version"),
        (
            Column("id", lambda consent: str(consent.public_id), "string", "The consent's id.", format="uuid"),
            Column("operator", lambda consent: consent.operator.slug, "string", "The operator (retailer)'s id."),
            Column("operator_name", lambda consent: consent.operator.name, "string", "The operator's name."),
            Column("purpose", lambda consent: consent.purpose, "string", "face_entry, store_analytics, ..."),
            Column("status", lambda consent: consent.status, "string", "active, withdrawn, expired, ..."),
            Column("channel", lambda consent: consent.channel, "string", "Where you gave it: web or app."),
            _when("given_at", "When you gave it."),
            _when("expires_at", "When it runs out unless you renew it."),
            _when("ended_at", "When it ended (withdrawn, expired, ...).", nullable=True),
            Column("notice_version", lambda consent: consent.notice_version_id, "integer", "The notice's version id."),
            Column("notice_version_number", lambda consent: consent.notice_version.version, "integer", "Its number."),
        ),
    ),
    Kind(
        "consent_events",
        "The history of your consents: each notice shown, consent given, refused, withdrawn or ended.",
        lambda shopper: ConsentEvent.objects.filter(shopper=shopper).select_related("consent", "operator"),
        (
            Column(
                "consent",
                lambda event: _text(event.consent and event.consent.public_id),
                "string",
                "The consent it concerns (empty for a notice shown or a refusal).",
                True,
                "uuid",
            ),
            Column("operator", lambda event: event.operator.slug, "string", "The operator's id."),
            Column("purpose", lambda event: event.purpose, "string", "The purpose."),
            Column("kind", lambda event: event.kind, "string", "What happened."),
            Column("notice_version", lambda event: event.notice_version_id, "integer", "The notice version.", True),
            Column("channel", lambda event: event.channel, "string", "Where: web, app, staff, device, system."),
            Column("actor_type", lambda event: event.actor_type, "string", "Who acted: you, staff, the system."),
            _when("occurred_at", "When."),
        ),
    ),
    Kind(
        "enrollments",
        "Each time you enrolled your face: the outcome only (no photo is kept, no template is exported).",
        lambda shopper: Enrollment.objects.filter(shopper=shopper),
        (
            Column("id", lambda enrollment: str(enrollment.public_id), "string", "The enrollment's id.", format="uuid"),
            Column("status", lambda enrollment: enrollment.status, "string", "queued, processing, done, refused."),
            Column("channel", lambda enrollment: enrollment.channel, "string", "Where: web or app."),
            Column("photo_count", lambda enrollment: enrollment.photo_count, "integer", "Photos sent."),
            Column("reason", lambda enrollment: enrollment.reason, "string", "Why it was refused, if it was."),
            _when("created_at", "When you sent the photos."),
            _when("finished_at", "When it ended.", nullable=True),
        ),
    ),
    Kind(
        "visits",
        "Every visit a store recorded: when, where, by which door and how you came in.",
        lambda shopper: Visit.objects.filter(shopper=shopper).select_related("store__operator", "device"),
        (
            Column("id", lambda visit: str(visit.public_id), "string", "The visit's id.", format="uuid"),
            Column("operator", lambda visit: visit.store.operator.slug, "string", "The operator's id."),
            Column("store", lambda visit: visit.store.name, "string", "The store."),
            Column("door", lambda visit: visit.device.name, "string", "The door that let you in."),
            Column("method", lambda visit: visit.method, "string", "face, face_and_pass or entry_pass."),
            _when("entered_at", "When you came in."),
            _when("exited_at", "When you left, if a device reported it.", nullable=True),
            Column("first_visit", lambda visit: visit.first_visit, "boolean", "Your first face recognition there."),
            _when("notice_shown_at", "When the door confirmed it showed you its collection notice.", nullable=True),
        ),
    ),
    Kind(
        "match_events",
        "Each time a door recognised your face: the consent and notice version that allowed it.",
        lambda shopper: MatchEvent.objects.filter(shopper=shopper).select_related("visit", "consent"),
        (
            Column("visit", lambda match: str(match.visit.public_id), "string", "The visit.", format="uuid"),
            Column("mode", lambda match: match.mode, "string", "1:N (face alone) or 1:1 (with your entry pass)."),
            Column("distance", lambda match: round(match.distance, 4), "number", "How close the face was (0 = same)."),
            Column("consent", lambda match: str(match.consent.public_id), "string", "The consent.", format="uuid"),
            Column("notice_version", lambda match: match.notice_version_id, "integer", "The notice version."),
            _when("occurred_at", "When."),
        ),
    ),
    Kind(
        "store_events",
        "What the stores' devices reported during your visits: exits, time at shelves, purchases, notices shown.",
        lambda shopper: StoreEvent.objects.filter(shopper=shopper).select_related("visit"),
        (
            Column("id", lambda event: str(event.public_id), "string", "The event's id.", format="uuid"),
            Column("visit", lambda event: str(event.visit.public_id), "string", "The visit.", format="uuid"),
            Column("kind", lambda event: event.kind, "string", "exit, shelf_dwell, purchase or notice_shown."),
            _when("occurred_at", "When it happened."),
            Column("shelf", lambda event: event.shelf, "string", "shelf_dwell: the shelf."),
            Column("seconds", lambda event: event.dwell_seconds, "integer", "shelf_dwell: how long.", True),
            Column("total", lambda event: _decimal(event.total), "string", "purchase: the total.", True),
            Column("currency", lambda event: event.currency, "string", "purchase: the currency."),
            Column("notice_version", lambda event: event.notice_version_id, "integer", "notice_shown: version.", True),
        ),
    ),
    Kind(
        "notifications",
        "Your feed: each time a door let you in, and whether you have read it.",
        lambda shopper: Notification.objects.filter(shopper=shopper).select_related("visit"),
        (
            Column("id", lambda note: str(note.public_id), "string", "The notification's id.", format="uuid"),
            Column("visit", lambda note: str(note.visit.public_id), "string", "The visit.", format="uuid"),
            Column("kind", lambda note: note.kind, "string", "recognised (by face) or entry_pass."),
            Column("first_visit", lambda note: note.first_visit, "boolean", "Your first face recognition there."),
            Column("notice_version", lambda note: note.notice_version_id, "integer", "The notice shown then.", True),
            _when("created_at", "When."),
            _when("read_at", "When you read it.", nullable=True),
        ),
    ),
    Kind(
        "purchase_items",
        "The lines of your purchases.",
        lambda shopper: PurchaseItem.objects.filter(event__shopper=shopper).select_related("event"),
        (
            Column("event", lambda item: str(item.event.public_id), "string", "The purchase.", format="uuid"),
            Column("sku", lambda item: item.sku, "string", "The article's code."),
            Column("name", lambda item: item.name, "string", "The article."),
            Column("quantity", lambda item: item.quantity, "integer", "How many."),
            Column("unit_price", lambda item: _decimal(item.unit_price), "string", "The price of one."),
        ),
    ),
)


def _values(kind: Kind, shopper) -> Iterator[dict[str, Any]]:
    for row in kind.rows(shopper).order_by("pk").iterator(chunk_size=CHUNK):
        yield {column.name: column.read(row) for column in kind.columns}


def _json_array(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array written a row at a time."""
    yield b"["
    for number, row in enumerate(rows):
        yield (b",\n" if number else b"\n") + json.dumps(row, ensure_ascii=False, default=str).encode()
    yield b"\n]\n"


def _csv_file(kind: Kind, shopper) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.name for column in kind.columns])
    for values in _values(kind, shopper):
        writer.writerow(["" if value is None else value for value in values.values()])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _receipts(shopper) -> Iterator[dict[str, Any]]:
    consents = Consent.objects.filter(shopper=shopper).select_related("operator", "notice_version__notice")
    for consent in consents.order_by("pk").iterator(chunk_size=200):
        yield consent_receipt(consent=consent, language=shopper.language)


def export_schema() -> dict[str, Any]:
    """The JSON Schema of the export's JSON files, one property per file (committed as export_schema.json)."""

    def column_schema(column: Column) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": [column.type, "null"] if column.nullable else column.type}
        if column.format:
            schema["format"] = column.format
        schema["description"] = column.description
        return schema

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "FaceConsent export",
        "description": "The JSON files of a shopper's export, by file name; each holds an array of rows.",
        "type": "object",
        "properties": {
            f"{kind.name}.json": {
                "description": kind.description,
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {column.name: column_schema(column) for column in kind.columns},
                    "required": [column.name for column in kind.columns],
                    "additionalProperties": False,
                },
            }
            for kind in KINDS
        },
        "required": [f"{kind.name}.json" for kind in KINDS],
    }


def export_readme() -> str:
    lines = [
        "# Your FaceConsent export",
        "",
        "Everything FaceConsent holds about you, one kind per file, each as JSON (an array of rows) and as CSV",
        "(the same rows, one per line, with a header). Times are ISO 8601 in UTC. Ids link the files: a",
        "visit's `id` is the `visit` of its match events and store events; a purchase's `id` is the `event` of",
        "its lines. `schema.json` is the JSON Schema every JSON file validates against. `receipts.json` holds",
        "the receipt of each consent, as documents (JSON only). Your face template is not exported: it is",
        "encrypted and nobody, you included, can download it; no photo of you is kept.",
        "",
    ]
    for kind in KINDS:
        lines += [f"## {kind.name}.json, {kind.name}.csv", "", kind.description, ""]
        lines += [f"- `{column.name}`: {column.description}" for column in kind.columns]
        lines.append("")
    return "\n".join(lines)


def export_stream(shopper) -> Iterable[bytes]:
    """The zip, made as it is read: README.md, schema.json, receipts.json and NAME.json / NAME.csv per kind."""
    archive = ZipStream(compress_type=ZIP_DEFLATED, compress_level=6)
    archive.add(export_readme().encode(), "README.md")
    archive.add(SCHEMA_PATH.read_bytes(), "schema.json")
    for kind in KINDS:
        archive.add(_json_array(_values(kind, shopper)), f"{kind.name}.json")
        archive.add(_csv_file(kind, shopper), f"{kind.name}.csv")
    archive.add(_json_array(_receipts(shopper)), "receipts.json")
    return archive
