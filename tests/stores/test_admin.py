"""Staff register devices and put stores live in the admin, always through the services."""

import pytest
from django.contrib.admin.models import LogEntry

from consent.models import EntryPass
from consent.services import entry_pass_issue
from core.models import AuditEntry
from stores.models import Device, MatchEvent, Operator, ProbeCounter, Store, Visit
from stores.sealing import device_secret_open
from tests.factories import OperatorFactory, StoreFactory, UserFactory, registered_device
from tests.stores.admin_pages import operator_form

pytestmark = pytest.mark.django_db

SIGNAGE_MISSING = "A store cannot go live before its face-recognition signage is confirmed."
PRIVATE_SPACE = "Devices cannot be placed in private spaces such as fitting rooms or toilets."
OPERATOR_IN_USE = "%s has stores, notices, consents or entry passes, so it cannot be deleted."


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def add_device(admin_client, store, **overrides):
    data = {"store": store.pk, "name": "Front door", "kind": "entrance", "location": "entrance", **overrides}
    return admin_client.post("/admin/stores/device/add/", data, follow=True)


class TestDevices:
    def test_adding_a_device_registers_it_and_shows_its_secret_once(self, admin_client, admin_user):
        store = StoreFactory()
        form = admin_client.get("/admin/stores/device/add/").content.decode()
        assert 'name="location"' in form and 'name="secret' not in form and 'name="device_id"' not in form
        response = add_device(admin_client, store)

        assert response.status_code == 200
        device = Device.objects.get()
        assert (device.store, device.name, device.kind, device.location) == (
            store,
            "Front door",
            "entrance",
            "entrance",
        )
        entry = AuditEntry.objects.get(action="device.registered")
        assert (entry.target_id, entry.actor_type, entry.actor_id) == (str(device.pk), "staff", str(admin_user.pk))
        secret = device_secret_open(device.secret_nonce, device.secret_ciphertext, device_id=device.device_id)
        assert ("warning", f"Secret for {device.device_id} (shown once): {secret}") in messages_of(response)
        assert AuditEntry.objects.filter(action="device.changed").count() == 0  # no second, unaudited write

        # Never again: not on the list, not on the device's page.
        assert secret not in admin_client.get("/admin/stores/device/").content.decode()
        page = admin_client.get(f"/admin/stores/device/{device.pk}/change/").content.decode()
        assert secret not in page and "secret_ciphertext" not in page and "secret_nonce" not in page

    @pytest.mark.requirement("S5")
    @pytest.mark.parametrize("location", ["fitting_room", "toilet"])
    def test_private_spaces_are_refused_with_a_form_error(self, admin_client, location):
        response = add_device(admin_client, StoreFactory(), location=location)

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"location": [PRIVATE_SPACE]}
        assert PRIVATE_SPACE in response.content.decode()
        assert not Device.objects.exists()
        assert not AuditEntry.objects.filter(action="device.registered").exists()

    def test_rotating_shows_the_new_secret_once_and_the_old_one_stops_working(self, admin_client):
        device, old_secret = registered_device()
        response = admin_client.post(
            "/admin/stores/device/", {"action": "rotate_secret", "_selected_action": [device.pk]}, follow=True
        )
        device.refresh_from_db()
        new_secret = device_secret_open(device.secret_nonce, device.secret_ciphertext, device_id=device.device_id)
        assert new_secret != old_secret
        assert ("warning", f"Secret for {device.device_id} (shown once): {new_secret}") in messages_of(response)
        assert AuditEntry.objects.filter(action="device.secret_rotated", actor_type="staff").exists()

    def test_revoking(self, admin_client):
        device, _secret = registered_device()
        admin_client.post("/admin/stores/device/", {"action": "revoke", "_selected_action": [device.pk]})
        device.refresh_from_db()
        assert device.is_revoked
        assert AuditEntry.objects.filter(action="device.revoked", actor_type="staff").exists()

    def test_devices_are_revoked_never_deleted(self, admin_client):
        device, _secret = registered_device()
        response = admin_client.post(f"/admin/stores/device/{device.pk}/delete/", {"post": "yes"})
        assert response.status_code == 403
        assert Device.objects.filter(pk=device.pk).exists()


@pytest.mark.requirement("S5")
class TestStores:
    def go_live(self, admin_client, store):
        return admin_client.post(
            "/admin/stores/store/", {"action": "go_live", "_selected_action": [store.pk]}, follow=True
        )

    def test_a_store_without_signage_stays_in_setup(self, admin_client):
        store = StoreFactory()
        response = self.go_live(admin_client, store)

        store.refresh_from_db()
        assert store.status == Store.Status.SETUP
        assert ("error", f"{store}: {SIGNAGE_MISSING}") in messages_of(response)
        assert not AuditEntry.objects.filter(action="store.live").exists()

    def test_confirm_signage_then_go_live(self, admin_client, admin_user):
        store = StoreFactory()
        admin_client.post("/admin/stores/store/", {"action": "confirm_signage", "_selected_action": [store.pk]})
        store.refresh_from_db()
        assert store.signage_confirmed_at is not None
        assert store.signage_confirmed_by == admin_user.email

        response = self.go_live(admin_client, store)
        store.refresh_from_db()
        assert store.status == Store.Status.LIVE
        assert ("info", f"{store} is live.") in messages_of(response)
        assert AuditEntry.objects.filter(action="store.live", actor_type="staff").exists()

    def test_status_and_signage_are_not_editable_in_the_form(self, admin_client):
        store = StoreFactory()
        page = admin_client.get(f"/admin/stores/store/{store.pk}/change/").content.decode()
        assert 'name="mode"' in page
        assert 'name="status"' not in page and 'name="signage_confirmed_at"' not in page


@pytest.mark.parametrize("model", [Visit, MatchEvent, ProbeCounter])
def test_the_doors_records_are_read_only(admin_client, model):
    base = f"/admin/stores/{model._meta.model_name}/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(base + "add/").status_code == 403


def test_a_visit_is_shown_without_its_shopper(admin_client):
    device, _secret = registered_device()
    shopper = UserFactory()
    visit = Visit.objects.create(shopper=shopper, store=device.store, device=device, method=Visit.Method.ENTRY_PASS)
    listing = admin_client.get("/admin/stores/visit/").content.decode()
    page = admin_client.get(f"/admin/stores/visit/{visit.pk}/change/")
    assert page.status_code == 200
    assert str(visit.public_id) in listing and str(visit.public_id) in page.content.decode()
    assert shopper.email not in listing and shopper.email not in page.content.decode()
    response = admin_client.post(f"/admin/stores/visit/{visit.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403


class TestOperatorsAndStores:
    """Every write goes through a service; what may not be deleted says why, and nothing is half-written."""

    def test_an_operator_with_an_entry_pass_is_kept_and_says_why(self, admin_client, shopper):
        operator = OperatorFactory()
        entry_pass_issue(shopper=shopper, channel="app", operator=operator)
        response = admin_client.post(f"/admin/stores/operator/{operator.pk}/delete/", {"post": "yes"}, follow=True)

        assert response.redirect_chain == [(f"/admin/stores/operator/{operator.pk}/change/", 302)]
        assert ("error", OPERATOR_IN_USE % operator) in messages_of(response)
        assert Operator.objects.filter(pk=operator.pk).exists() and EntryPass.objects.filter(operator=operator).exists()
        assert not AuditEntry.objects.filter(action="operator.deleted").exists()
        assert not LogEntry.objects.exists()

    def test_a_bulk_delete_is_all_or_nothing(self, admin_client, shopper):
        empty, with_pass = OperatorFactory(name="A"), OperatorFactory(name="B")
        entry_pass_issue(shopper=shopper, channel="app", operator=with_pass)
        response = admin_client.post(
            "/admin/stores/operator/",
            {"action": "delete_selected", "_selected_action": [empty.pk, with_pass.pk], "post": "yes"},
            follow=True,
        )

        assert ("error", OPERATOR_IN_USE % with_pass) in messages_of(response)
        assert Operator.objects.filter(pk__in=[empty.pk, with_pass.pk]).count() == 2  # the first came back too
        assert not AuditEntry.objects.filter(action="operator.deleted").exists()
        assert not LogEntry.objects.exists()

    def test_a_store_with_a_device_is_kept_when_ticked_on_its_operators_page(self, admin_client):
        device, _secret = registered_device()
        store = device.store
        response = admin_client.post(
            f"/admin/stores/operator/{store.operator_id}/change/",
            operator_form(store.operator, name="Renamed", delete=[store]),
        )

        assert response.status_code == 200  # the page again, with the reason; not a 500
        assert "would require deleting the following protected related objects" in response.content.decode()
        store.refresh_from_db()
        assert store.operator.name != "Renamed"  # nothing of the page was saved
        assert not AuditEntry.objects.filter(action__in=["store.deleted", "operator.changed"]).exists()

    def test_a_store_with_a_device_is_kept(self, admin_client):
        device, _secret = registered_device()
        response = admin_client.post(f"/admin/stores/store/{device.store.pk}/delete/", {"post": "yes"})
        assert response.status_code == 200
        assert "Cannot delete store" in response.content.decode()
        assert Store.objects.filter(pk=device.store.pk).exists()
        assert not AuditEntry.objects.filter(action="store.deleted").exists()

    def test_the_operator_pages_show_its_stores_with_their_state_read_only(self, admin_client):
        store = StoreFactory()
        assert admin_client.get("/admin/stores/operator/add/").status_code == 200
        page = admin_client.get(f"/admin/stores/operator/{store.operator_id}/change/").content.decode()
        assert 'name="stores-0-slug"' in page and 'name="template_retention_days"' in page
        assert 'name="stores-0-status"' not in page and 'name="stores-0-signage_confirmed_at"' not in page

    def test_an_operator_and_its_stores_are_added_together_through_the_services(self, admin_client, admin_user):
        response = admin_client.post("/admin/stores/operator/add/", operator_form(None, new=["North", "South"]))

        assert response.status_code == 302
        operator = Operator.objects.get(slug="mart")
        entries = AuditEntry.objects.order_by("sequence")
        assert [(entry.action, entry.target_id) for entry in entries] == [
            ("operator.created", str(operator.pk)),
            *[("store.created", str(store.pk)) for store in operator.stores.order_by("pk")],
        ]
        assert {(entry.actor_type, entry.actor_id) for entry in entries} == {("staff", str(admin_user.pk))}
        assert sorted(operator.stores.values_list("slug", flat=True)) == ["north", "south"]

    def test_an_operators_change_names_its_fields_and_keeps_the_retention_figures(self, admin_client):
        operator = OperatorFactory()
        admin_client.post(
            f"/admin/stores/operator/{operator.pk}/change/",
            operator_form(operator, legal_name="Mart Ltd", template_retention_days="30"),
        )
        entry = AuditEntry.objects.get(action="operator.changed")
        assert entry.data == {
            "fields": ["legal_name", "template_retention_days"],
            "retention_days": {"template_retention_days": [365, 30]},
        }

    def test_saving_an_unchanged_page_writes_nothing(self, admin_client):
        store = StoreFactory()
        response = admin_client.post(
            f"/admin/stores/operator/{store.operator_id}/change/", operator_form(store.operator)
        )
        assert response.status_code == 302
        assert not AuditEntry.objects.exists()

    def test_a_store_never_moves_to_another_operator(self, admin_client):
        store, other = StoreFactory(), OperatorFactory()
        page = admin_client.get(f"/admin/stores/store/{store.pk}/change/").content.decode()
        assert 'name="operator"' not in page
        data = {"operator": other.pk, "name": store.name, "slug": store.slug, "address": "", "mode": "1:1"}
        admin_client.post(f"/admin/stores/store/{store.pk}/change/", data)
        operator_id = store.operator_id
        store.refresh_from_db()
        assert (store.operator_id, store.mode) == (operator_id, "1:1")
        assert AuditEntry.objects.get(action="store.changed").data == {"fields": ["mode"], "mode": "1:1"}


class TestDeviceChanges:
    def test_renaming_and_moving_a_device_goes_through_the_service(self, admin_client):
        device, _secret = registered_device()
        response = admin_client.post(
            f"/admin/stores/device/{device.pk}/change/", {"name": "Side door", "location": "sales_floor"}
        )
        assert response.status_code == 302
        device.refresh_from_db()
        assert (device.name, device.location) == ("Side door", "sales_floor")
        entry = AuditEntry.objects.get(action="device.changed")
        assert entry.data == {"fields": ["location", "name"], "location": "sales_floor"}

    @pytest.mark.requirement("S5")
    def test_a_device_cannot_be_moved_into_a_private_space(self, admin_client):
        device, _secret = registered_device()
        response = admin_client.post(
            f"/admin/stores/device/{device.pk}/change/", {"name": "Door", "location": "toilet"}
        )
        assert response.context["adminform"].form.errors == {"location": [PRIVATE_SPACE]}
        device.refresh_from_db()
        assert device.location == "entrance"
        assert not AuditEntry.objects.filter(action="device.changed").exists()


@pytest.mark.parametrize(
    "path", ["/admin/auth/group/", "/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"]
)
def test_admins_with_no_audited_writes_are_not_offered(admin_client, path):
    assert admin_client.get(path).status_code == 404
