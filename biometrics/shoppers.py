"""The shopper row as the one lock that orders a shopper's face changes.

Starting an enrollment, storing its templates and ending the last face consent all lock the
shopper's row first, so a template is never written after the last consent ended and two
enrollments never start at once. The shopper model is the project's user model, reached through
`get_user_model()` so that no layer below `portal` imports it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model


def shopper_lock(*, shopper_id: int) -> Any:
    """Lock the shopper's row until the caller's transaction ends; returns the shopper as it stands."""
    return get_user_model().objects.select_for_update().get(pk=shopper_id)
