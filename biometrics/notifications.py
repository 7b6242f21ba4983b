"""Mail to a shopper whose face templates were deleted. Sent after the deletion commits; a mail that
fails undoes nothing."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.mail import mail_shopper_after_commit


def templates_deleted_notify(*, shopper: Any) -> None:
    mail_shopper_after_commit(
        shopper,
        subject=_("Your face template on FaceConsent was deleted"),
        template="biometrics/email/templates_deleted.txt",
        context={"name": shopper.display_name},
    )
