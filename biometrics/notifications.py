"""Mail to a shopper whose face templates were deleted. Sent after the deletion commits; a mail that
fails undoes nothing."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.mail import mail_after_commit
from core.time_zones import time_zone_for


def templates_deleted_notify(*, shopper: Any) -> None:
    mail_after_commit(
        to=shopper.email,
        language=shopper.language,
        time_zone=time_zone_for(shopper=shopper),
        subject=_("Your face template on FaceConsent was deleted"),
        template="biometrics/email/templates_deleted.txt",
        context={"name": shopper.display_name},
    )
