"""What an entry pass's token is: the pass's random id and a timestamp, signed with a key derived from
SECRET_KEY. Who the pass belongs to, and where it works, is known only to the database."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from core.errors import DomainError

SIGNING_SALT = "faceconsent.entry-pass.v1"


class EntryPassRefused(DomainError):
    status = 403
    code = "pass_invalid"
    message = "This entry pass is not valid."


def entry_pass_token(*, token_id: str) -> str:
    return signing.dumps({"i": token_id}, salt=SIGNING_SALT)


def entry_pass_token_id(*, token: str) -> str:
    """The random id a token carries, or a refusal: pass_expired (by its signed time) or pass_invalid."""
    max_age = settings.ENTRY_PASS_LIFETIME.total_seconds()
    try:
        payload = signing.loads(token, salt=SIGNING_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise EntryPassRefused(_("This entry pass has expired; show a fresh one."), code="pass_expired") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid") from error
    return str(payload.get("i") if isinstance(payload, dict) else None)
