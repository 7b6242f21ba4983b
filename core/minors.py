"""Who is below the minimum age (MINIMUM_AGE, 14 by default: PIPL art. 31). Which purposes need that
age is consent's rule (`consent.minors`); enrollment asks here for the face, sensitive everywhere."""

from datetime import date

from django.conf import settings
from django.utils import timezone

from core.dates import age_on


def minimum_age() -> int:
    return settings.MINIMUM_AGE


def below_minimum_age(date_of_birth: date | None) -> bool:
    """Under the minimum age today; a shopper with no date of birth counts as under it."""
    return date_of_birth is None or age_on(date_of_birth, timezone.localdate()) < minimum_age()
