"""Operators (the retailers, data controllers), their stores and devices, visits and match records."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.time_zones import TIME_ZONE_MAX_LENGTH, site_time_zone, validate_time_zone

# BIPA and Texas CUBI cap how long face data may be kept after its purpose ends: three years.
MAX_TEMPLATE_RETENTION_DAYS = 3 * 365


def _least_loaded_shard_id() -> int:
    """A new operator's shard: the least loaded."""
    return MatchShard.least_loaded().pk


class MatchShard(models.Model):
    """A group of operators whose galleries the same match workers hold (decision 0041). A match worker serves
    one or more shards (`MATCH_SHARDS`) and builds only their operators' indexes; the door sends each probe to
    its operator's shard."""

    name = models.SlugField(_("name"), max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def loads(cls) -> dict[int, int]:
        """Each shard's load: the active face consents of its operators, the templates its workers keep."""
        from consent.models import Consent, Purpose
        from consent.selectors import consent_active_q

        active = Consent.objects.filter(consent_active_q(), purpose=Purpose.FACE_ENTRY).order_by()
        held = active.values("operator__match_shard").annotate(held=models.Count("pk"))
        return dict(held.values_list("operator__match_shard", "held"))

    @classmethod
    def least_loaded(cls) -> "MatchShard":
        """The shard with the least load, the first by name among equals; the first shard is made when there is
        none."""
        shards = list(cls.objects.order_by("name"))
        if not shards:
            return cls.objects.get_or_create(name="a")[0]
        loads = cls.loads()
        return min(shards, key=lambda shard: (loads.get(shard.pk, 0), shard.name))


class Operator(models.Model):
    """A retailer: the data controller a shopper consents to."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    jurisdiction = models.CharField(
        _("jurisdiction"),
        max_length=8,
        default="CN",
        help_text=_("ISO 3166 country code whose law governs the processing."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=TIME_ZONE_MAX_LENGTH,
        default=site_time_zone,
        validators=[validate_time_zone],
        help_text=_(
            "Where its stores are, as an IANA name (Asia/Shanghai). Its pages show times in it to shoppers"
            " who have not chosen a time zone of their own."
        ),
    )
    contact_email = models.EmailField(_("contact email"))
    contact_address = models.TextField(_("contact address"), blank=True)
    privacy_officer_name = models.CharField(_("privacy officer"), max_length=120)
    privacy_officer_email = models.EmailField(_("privacy officer email"))
    # The operator's periods, applied every day by stores.retention.services and stated on its public
    # retention page (docs/decisions/0030-retention.md).
    template_retention_days = models.PositiveIntegerField(
        _("face template retention (days without a recognition by face)"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TEMPLATE_RETENTION_DAYS)],
        help_text=_(
            "A shopper none of this operator's doors recognised by face for this long (since the consent was"
            " given or reaffirmed, or the last recognition on record) loses their face consent to it; with no"
            " face consent left, their templates are destroyed. At most 36 months."
        ),
    )
    footprint_retention_days = models.PositiveIntegerField(
        _("footprint retention (days)"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_(
            "Visits with what the stores reported about them (exit, shelf dwell, purchases) and their match"
            " records are deleted once this old, or sooner if the shopper chose a shorter period."
        ),
    )
    # The false-positive identification rate this operator accepts at its doors; empty: MATCH_TARGET_FPIR.
    # Lower only (stores.services.operator_update refuses a higher one): docs/decisions/0025.
    target_fpir = models.FloatField(
        _("target false identification rate"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.00001), MaxValueValidator(1.0)],
        help_text=_(
            "The share of strangers the door may take for an enrolled shopper, at most the site's setting"
            " (empty: the setting). A lower target makes the gallery check lower the threshold sooner, or"
            " stop 1:N."
        ),
    )
    # The operator's own match rule (M5, docs/decisions/0025): a ceiling at most MATCH_THRESHOLD and a margin
    # at least MATCH_MARGIN, stricter only. Changed only by stores.services.operator_match_rule_update.
    match_threshold = models.FloatField(
        _("match threshold ceiling"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text=_(
            "The largest face distance this operator's doors accept: a pass with a face is compared at it, and"
            " the gallery check picks the 1:N threshold at or below it. At most the site's setting (empty: the"
            " setting)."
        ),
    )
    match_margin = models.FloatField(
        _("match margin"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text=_(
            "How much nearer the best candidate must be than the next for 1:N to name them. At least the"
            " site's setting (empty: the setting)."
        ),
    )
    # The match workers that hold this operator's gallery, and while it moves, the shard building it first
    # (stores.shards: the route switches only once a worker there holds it).
    match_shard = models.ForeignKey(
        MatchShard,
        on_delete=models.PROTECT,
        related_name="operators",
        verbose_name=_("match shard"),
        default=_least_loaded_shard_id,
        editable=False,
    )
    moving_to = models.ForeignKey(
        MatchShard, on_delete=models.PROTECT, null=True, blank=True, related_name="arriving", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(template_retention_days__lte=MAX_TEMPLATE_RETENTION_DAYS),
                name="operator_template_retention_at_most_36_months",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """One shop of an operator. It goes live only once its face-recognition signage is confirmed."""

    class Mode(models.TextChoices):
        ONE_TO_MANY = "1:N", _("1:N: search every consenting shopper of the operator")
        ONE_TO_ONE = "1:1", _("1:1: the shopper shows an entry pass; the face is checked against that shopper only")

    class Status(models.TextChoices):
        SETUP = "setup", _("Being set up")
        LIVE = "live", _("Live")
        CLOSED = "closed", _("Closed")

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField()
    address = models.TextField(_("address"), blank=True)
    mode = models.CharField(_("matching mode"), max_length=3, choices=Mode.choices, default=Mode.ONE_TO_MANY)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.SETUP)
    signage_confirmed_at = models.DateTimeField(_("signage confirmed at"), null=True, blank=True)
    signage_confirmed_by = models.CharField(_("signage confirmed by"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["operator__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "slug"], name="store_slug_unique_per_operator"),
            models.CheckConstraint(
                condition=~models.Q(status="live") | models.Q(signage_confirmed_at__isnull=False),
                name="store_live_needs_signage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator.name} · {self.name}"

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE


class Device(models.Model):
    """A device in a store, authenticated by its id and a secret that signs every request.

    Entrance devices may match faces and accept entry passes; shelf devices only report events
    for their own store. The secret is kept sealed (it is needed to check signatures) and is
    shown once, when it is made.
    """

    class Kind(models.TextChoices):
        ENTRANCE = "entrance", _("Entrance (may match)")
        SHELF = "shelf", _("Shelf (reports events only)")

    class Location(models.TextChoices):
        ENTRANCE = "entrance", _("Entrance")
        SALES_FLOOR = "sales_floor", _("Sales floor")
        CHECKOUT = "checkout", _("Checkout")
        STOCKROOM = "stockroom", _("Stockroom")
        FITTING_ROOM = "fitting_room", _("Fitting room")
        TOILET = "toilet", _("Toilet")

    PRIVATE_LOCATIONS = (Location.FITTING_ROOM, Location.TOILET)

    device_id = models.CharField(max_length=40, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    location = models.CharField(_("location"), max_length=16, choices=Location.choices)
    secret_key_id = models.CharField(max_length=32, editable=False)
    secret_nonce = models.BinaryField(editable=False)
    secret_ciphertext = models.BinaryField(editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(location__in=["fitting_room", "toilet"]),
                name="device_never_in_private_spaces",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.device_id})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Visit(models.Model):
    """A shopper's visit to a store, from recognition (or an entry pass) at the door."""

    class Method(models.TextChoices):
        FACE = "face", _("Face")
        FACE_AND_PASS = "face_and_pass", _("Face checked against an entry pass")
        ENTRY_PASS = "entry_pass", _("Entry pass")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visits")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="visits")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="visits")
    method = models.CharField(max_length=16, choices=Method.choices)
    entered_at = models.DateTimeField(default=timezone.now)
    exited_at = models.DateTimeField(null=True, blank=True)
    # The first face recognition of this shopper at this store under the consent it rests on (a new consent
    # after a material notice change starts again): the door must show the collection notice (C11).
    first_visit = models.BooleanField(default=False)
    notice_shown_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the door confirmed it showed the collection notice (a first recognised visit)."),
    )

    class Meta:
        ordering = ["-entered_at"]
        indexes = [models.Index(fields=["shopper", "store"]), models.Index(fields=["shopper", "entered_at"])]

    def __str__(self) -> str:
        return f"visit {self.public_id}"


class MatchEvent(models.Model):
    """Why the door recognised a shopper: device, distance, and the consent that allowed it (M6)."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="match_event")
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="match_events")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    distance = models.FloatField()
    # 1:1 (a pass with a face) only: how far the nearest other shopper of the operator's gallery was from
    # this face. A confirmed entry so says what 1:N would have answered: the gallery check's genuine side.
    nearest_other_distance = models.FloatField(null=True, blank=True)
    mode = models.CharField(max_length=3, choices=Store.Mode.choices)
    consent = models.ForeignKey("consent.Consent", on_delete=models.PROTECT, related_name="match_events")
    notice_version = models.ForeignKey("consent.NoticeVersion", on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"match at {self.occurred_at:%Y-%m-%d %H:%M} ({self.distance:.3f})"


class ProbeCounter(models.Model):
    """What a probe that matched nobody leaves behind: a count per device and day, nothing else (M3)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="probe_counters")
    day = models.DateField()
    matched = models.PositiveIntegerField(default=0)
    no_match = models.PositiveIntegerField(default=0)
    no_face = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="probe_counter_per_device_day")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.day}: {self.matched} matched, {self.no_match} not"


class GalleryCheck(models.Model):
    """One run of the gallery check for one operator: what its own gallery says of false identifications.

    Every pair of different shoppers is a pair of strangers; each sampled shopper is searched against the
    others with the door's rule, at each threshold of the grid. The chosen threshold and whether 1:N stays
    on apply to the operator's doors from this row on (the latest row is the one in force). Written only
    by `stores.services.gallery_check_record`; figures only, no encoding or shopper.
    """

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly")
        GALLERY_CHANGED = "gallery_changed", _("The gallery grew or shrank")
        ON_DEMAND = "on_demand", _("On demand")
        RULE_CHANGED = "rule_changed", _("The operator's match rule changed")

    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="gallery_checks")
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    gallery_size = models.PositiveIntegerField(_("shoppers in the gallery"))
    # True when a random sample of the shoppers was searched (MATCH_GALLERY_CHECK_SAMPLE); each row of
    # `figures` says how many (`strangers`).
    sampled = models.BooleanField(_("sampled"))
    # The rule: the thresholds tried, the door's margin, the target and the floor it was held to.
    thresholds = models.JSONField(_("thresholds tried"))
    margin = models.FloatField(_("margin"))
    target_fpir = models.FloatField(_("target false identification rate"))
    tir_floor = models.FloatField(_("true identification floor"))
    # One object per threshold: strangers, false_matches, fpir, fpir_upper, genuine, true_matches, tir, tir_lower.
    figures = models.JSONField(_("figures per threshold"))
    threshold = models.FloatField(_("chosen threshold"), null=True, blank=True)
    one_to_n = models.BooleanField(_("1:N on"))
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["operator", "-id"], name="gallery_check_latest")]

    def __str__(self) -> str:
        return (
            f"{self.operator_id} {self.checked_at:%Y-%m-%d %H:%M}: {self.threshold} {'1:N' if self.one_to_n else '1:1'}"
        )


class StoreEvent(models.Model):
    """Something a store's device reported about a visit: the exit, time at a shelf, a purchase (F1).

    Sent in batches by `POST /api/v1/device/events`; `event_id` is the device's own id for the event, so a
    batch sent again stores nothing twice. Shelf dwell is kept only while the shopper's `store_analytics`
    consent to the operator is active (docs/decisions/0027)."""

    class Kind(models.TextChoices):
        EXIT = "exit", _("Left the store")
        SHELF_DWELL = "shelf_dwell", _("Time at a shelf")
        PURCHASE = "purchase", _("Purchase")
        NOTICE_SHOWN = "notice_shown", _("Collection notice shown")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    # The visit's shopper and store, kept on the event so a footprint is read by one indexed range.
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_events")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    shelf = models.CharField(_("shelf"), max_length=64, blank=True)
    dwell_seconds = models.PositiveIntegerField(null=True, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # notice_shown: the notice version the door showed (the one the recognition's consent rests on).
    notice_version = models.ForeignKey(
        "consent.NoticeVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["device", "event_id"], name="store_event_once_per_device")]
        indexes = [models.Index(fields=["shopper", "occurred_at", "id"]), models.Index(fields=["visit"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class PurchaseItem(models.Model):
    """One line of a purchase: what, how many, at what price each."""

    event = models.ForeignKey(StoreEvent, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class EventCounter(models.Model):
    """What a reported event the shopper did not allow leaves behind: a count per device and day (F1)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="event_counters")
    day = models.DateField()
    dropped = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="event_counter_per_device_day")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.day}: {self.dropped} dropped"


class Notification(models.Model):
    """What the shopper's feed shows the moment a door lets them in: recognised by face, or by an entry pass.

    Written in the transaction that records the visit (stores.door.services), one row per visit. For a
    first recognised visit it names the notice version the door showed (C11), so the feed can show it too.
    """

    class Kind(models.TextChoices):
        RECOGNISED = "recognised", _("Recognised by face")
        ENTRY_PASS = "entry_pass", _("Let in with an entry pass")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="notification")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    first_visit = models.BooleanField(default=False)
    # A first recognised visit only: the version of the collection notice the door showed.
    notice_version = models.ForeignKey(
        "consent.NoticeVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shopper", "-created_at", "-id"], name="notification_feed"),
            models.Index(fields=["shopper"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


# For the API schema's enum names (ENUM_NAME_OVERRIDES).
StoreEventKind = StoreEvent.Kind
