"""The one age rule for consent (docs/decisions/0021-one-age-rule.md): a shopper under the minimum age
cannot consent to a purpose that the law the operator declares treats as sensitive for a minor."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from consent.models import Purpose
from core.errors import Forbidden
from core.minors import below_minimum_age, minimum_age

# By jurisdiction (the operator's declared ISO 3166 code): the purposes that process a minor's data in a
# way its law treats as sensitive. PIPL art. 28 makes all personal information of a minor under 14
# sensitive (and biometrics and whereabouts besides); art. 31 then needs a parent's or guardian's
# consent, which FaceConsent does not collect. So under Chinese law every purpose needs the minimum age.
SENSITIVE_FOR_MINORS: dict[str, frozenset[str]] = {
    "CN": frozenset(Purpose.values),
}
# Any other law: the face template is biometric data, sensitive under every law we serve (GDPR art. 9,
# BIPA); what else is sensitive for a minor is for that law's entry above, when one is added.
SENSITIVE_FOR_MINORS_ELSEWHERE: frozenset[str] = frozenset({Purpose.FACE_ENTRY})


def purpose_needs_minimum_age(*, purpose: str, jurisdiction: str) -> bool:
    return purpose in SENSITIVE_FOR_MINORS.get(jurisdiction.upper(), SENSITIVE_FOR_MINORS_ELSEWHERE)


def shopper_may_consent(*, shopper: Any, operator: Any, purpose: str) -> bool:
    """Old enough for this purpose under this operator's law (or the purpose needs no age there)."""
    return not (
        purpose_needs_minimum_age(purpose=purpose, jurisdiction=operator.jurisdiction)
        and below_minimum_age(shopper.date_of_birth)
    )


def consent_age_check(*, shopper: Any, operator: Any, purpose: str) -> None:
    """Refuse, with 403 `under_minimum_age`, a consent the shopper is too young to give."""
    if not shopper_may_consent(shopper=shopper, operator=operator, purpose=purpose):
        raise Forbidden(
            _(
                "You must be %(age)d or older to give this consent: below that age the law %(operator)s "
                "follows needs a parent's or guardian's consent."
            )
            % {"age": minimum_age(), "operator": operator.name},
            code="under_minimum_age",
        )
