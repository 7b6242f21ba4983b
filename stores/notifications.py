"""Mail to an operator's privacy officer when its doors stop (or resume) recognising faces 1:N.

Sent after the gallery check that decided it commits; a mail that fails undoes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.mail import mail_after_commit


def one_to_n_changed_notify(*, operator, check) -> None:
    stopped = not check.one_to_n
    mail_after_commit(
        to=operator.privacy_officer_email,
        language=settings.LANGUAGE_CODE,
        time_zone=operator.time_zone,
        subject=(
            _("FaceConsent: your doors now recognise faces only with an entry pass")
            if stopped
            else _("FaceConsent: your doors recognise faces without an entry pass again")
        ),
        template="stores/email/one_to_n_stopped.txt" if stopped else "stores/email/one_to_n_resumed.txt",
        context={
            "name": operator.privacy_officer_name,
            "operator": operator.name,
            "checked_at": check.checked_at,
            "gallery_size": check.gallery_size,
            "sampled": check.sampled,
            "target_fpir": check.target_fpir,
            "tir_floor": check.tir_floor,
            "threshold": check.threshold,
            "reason": check.reason,
        },
    )
