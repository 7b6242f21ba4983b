"""Operators (the retailers, data controllers) and their stores."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# BIPA and Texas CUBI cap how long face data may be kept after its purpose ends: three years.
MAX_TEMPLATE_RETENTION_DAYS = 3 * 365


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
    contact_email = models.EmailField(_("contact email"))
    contact_address = models.TextField(_("contact address"), blank=True)
    privacy_officer_name = models.CharField(_("privacy officer"), max_length=120)
    privacy_officer_email = models.EmailField(_("privacy officer email"))
    # What the public retention page (and every receipt) promises about this operator's data.
    template_retention_days = models.PositiveIntegerField(
        _("face template retention (days without a visit)"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TEMPLATE_RETENTION_DAYS)],
        help_text=_("A template is destroyed when its shopper has not been seen for this long (at most 36 months)."),
    )
    footprint_retention_days = models.PositiveIntegerField(
        _("footprint retention (days)"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Visits, shelf dwell and purchases older than this are destroyed."),
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
    """One shop of an operator."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField()
    address = models.TextField(_("address"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["operator__name", "name"]
        constraints = [models.UniqueConstraint(fields=["operator", "slug"], name="store_slug_unique_per_operator")]

    def __str__(self) -> str:
        return f"{self.operator.name} · {self.name}"
