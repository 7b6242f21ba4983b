"""Staff roles, as Django groups (S2, decision 0037). A staff member sees what their role needs and no more:

- support agent: the privacy request console;
- privacy officer: operators, stores, devices, notices and the reports (gallery checks, unmatched-probe
  counts) in the admin, the dashboard, and moving operators between match shards;
- admin: all of it, the audit log, consents and visits in the admin, adding a match shard. Django's superuser
  flag counts as admin.

No role can view or download a template or a photo: no page or admin shows one (tests/portal/test_roles.py).
"""

from __future__ import annotations

from typing import Any

SUPPORT_AGENT = "Support agent"
PRIVACY_OFFICER = "Privacy officer"
ADMIN = "Admin"
ROLES = (SUPPORT_AGENT, PRIVACY_OFFICER, ADMIN)

# What each role may do in the admin, as Django model permissions given to its group (portal.0008).
PRIVACY_OFFICER_PERMISSIONS = {
    ("stores", "operator"): ("view", "add", "change", "delete"),
    ("stores", "store"): ("view", "add", "change", "delete"),
    ("stores", "device"): ("view", "add", "change", "delete"),
    ("stores", "gallerycheck"): ("view",),
    ("stores", "probecounter"): ("view",),
    ("consent", "noticeversion"): ("view", "add", "change"),
}


def staff_roles(user: Any) -> set[str]:
    if not (user.is_authenticated and user.is_staff and user.is_active):
        return set()
    if user.is_superuser:
        return set(ROLES)
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return set(ROLES) if ADMIN in roles else roles


def has_role(user: Any, *roles: str) -> bool:
    """Whether the staff member holds one of `roles` (an admin holds them all)."""
    return bool(staff_roles(user) & set(roles))
