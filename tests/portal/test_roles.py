"""S2: each staff role sees exactly its pages (decision 0037), shown as a table of role by address. Every staff
member here is past the second factor; without it they reach nothing (test_staff_second_factor.py)."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from tests.conftest import staff_signed_in
from tests.factories import UserFactory, staff_member

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S2")]

ROLES = ["support agent", "privacy officer", "admin", "superuser", "no role"]
OK, NO, LOGIN = 200, 403, 302  # LOGIN: the admin sends a staff member without its permission to its login
TABLE = {
    #                                 support agent, privacy officer, admin, superuser, no role
    "/staff/": (OK, OK, OK, OK, NO),
    "/staff/requests/": (OK, NO, OK, OK, NO),
    "/staff/requests/new/": (OK, NO, OK, OK, NO),
    "/staff/shoppers/": (OK, NO, OK, OK, NO),
    "/staff/audit/": (NO, NO, OK, OK, NO),
    "/staff/operators/": (NO, OK, OK, OK, NO),
    "/staff/shards/": (NO, OK, OK, OK, NO),
    "/simulator/": (OK, OK, OK, OK, OK),
    "/admin/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/operator/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/operator/add/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/store/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/device/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/consent/noticeversion/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/gallerycheck/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/stores/probecounter/": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/core/auditentry/": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/consent/consent/": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/consent/consentevent/": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/stores/visit/": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/stores/matchevent/": (LOGIN, NO, OK, OK, LOGIN),
}


def member(role: str):
    if role == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    if role == "no role":
        return staff_member()
    return staff_member(role.capitalize())


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_pages(client, role, settings):
    settings.ENTRANCE_SIMULATOR = True
    staff_signed_in(client, member(role))
    column = ROLES.index(role)
    seen = {path: client.get(path).status_code for path in TABLE}
    assert seen == {path: statuses[column] for path, statuses in TABLE.items()}


def test_roles_are_given_by_an_audited_command():
    import io

    from django.core.management import call_command

    from core.models import AuditEntry
    from portal.staff.roles import staff_roles

    staff = staff_member("Support agent")
    call_command("staff_roles", staff.email, "Privacy officer", stdout=io.StringIO())
    assert staff_roles(staff) == {"Privacy officer"}
    entry = AuditEntry.objects.get(action="staff.roles_set")
    assert entry.data == {"before": ["Support agent"], "after": ["Privacy officer"]}
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid choice: 'Janitor'"):
        call_command("staff_roles", staff.email, "Janitor", stderr=io.StringIO())


def test_shoppers_reach_none_of_them(client, settings):
    settings.ENTRANCE_SIMULATOR = True
    client.force_login(UserFactory())
    for path in TABLE:
        response = client.get(path)
        if path == "/simulator/":
            assert response.status_code == 403
            continue
        assert response.status_code == 302, path
        assert "/admin/login/" in response["Location"] or response["Location"] == "/profile/", path


def test_no_address_shows_or_serves_a_template_or_a_photo():
    """Invariant 4: there is no page that could. No admin for the face models, no route naming them."""
    from django.contrib import admin

    from biometrics.models import Enrollment, FaceTemplate

    assert not admin.site.is_registered(FaceTemplate) and not admin.site.is_registered(Enrollment)

    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            yield from routes(pattern, route) if hasattr(pattern, "url_patterns") else [route]

    assert not [route for route in routes(get_resolver()) if "template" in route or "photo" in route]
