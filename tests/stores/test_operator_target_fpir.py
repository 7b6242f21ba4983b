"""An operator's own target false identification rate: lower than the site's, never higher (docs/decisions/0025)."""

import pytest

from core.audit import Actor
from core.errors import ValidationFailed
from core.models import AuditEntry
from stores.models import Operator
from stores.selectors import operator_target_fpir
from stores.services import operator_create, operator_update
from tests.factories import OperatorFactory
from tests.stores.admin_pages import operator_form

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M5")]

STAFF = Actor.system()


def refused(call, code: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        call()
    assert (raised.value.code, raised.value.message) == (code, message)
    assert raised.value.fields == {"target_fpir": [message]}


class TestService:
    def test_an_operator_without_its_own_target_is_held_to_the_sites(self, settings):
        settings.MATCH_TARGET_FPIR = 0.01
        assert operator_target_fpir(OperatorFactory()) == 0.01

    def test_a_lower_target_is_kept_and_its_change_logged(self):
        operator = operator_update(actor=STAFF, operator=OperatorFactory(), target_fpir=0.001)
        assert Operator.objects.get(pk=operator.pk).target_fpir == 0.001
        assert operator_target_fpir(operator) == 0.001
        entry = AuditEntry.objects.get(action="operator.changed")
        assert entry.data == {"fields": ["target_fpir"], "target_fpir": [None, 0.001]}

    def test_a_higher_target_is_refused(self, settings):
        settings.MATCH_TARGET_FPIR = 0.01
        operator = OperatorFactory()
        message = "The target may be lower than the site's 0.01, never higher."
        refused(
            lambda: operator_update(actor=STAFF, operator=operator, target_fpir=0.02), "target_fpir_too_high", message
        )
        assert Operator.objects.get(pk=operator.pk).target_fpir is None
        assert not AuditEntry.objects.filter(action="operator.changed").exists()

    def test_a_target_of_zero_or_below_is_refused(self):
        operator = OperatorFactory()
        refused(
            lambda: operator_update(actor=STAFF, operator=operator, target_fpir=0.0),
            "invalid",
            "The target must be above 0.",
        )

    def test_creating_with_a_higher_target_is_refused(self):
        refused(
            lambda: operator_create(
                actor=STAFF,
                name="Mart",
                slug="mart",
                contact_email="a@mart.example",
                privacy_officer_name="Pat",
                privacy_officer_email="dpo@mart.example",
                target_fpir=0.5,
            ),
            "target_fpir_too_high",
            "The target may be lower than the site's 0.01, never higher.",
        )
        assert not Operator.objects.exists()

    def test_none_goes_back_to_the_sites_setting_and_leaving_it_out_keeps_it(self):
        operator = operator_update(actor=STAFF, operator=OperatorFactory(), target_fpir=0.005)
        operator = operator_update(actor=STAFF, operator=operator, name="Renamed")
        assert operator.target_fpir == 0.005
        operator = operator_update(actor=STAFF, operator=operator, target_fpir=None)
        assert Operator.objects.get(pk=operator.pk).target_fpir is None
        assert AuditEntry.objects.filter(action="operator.changed").last().data == {
            "fields": ["target_fpir"],
            "target_fpir": [0.005, None],
        }


class TestAdmin:
    def test_a_lower_target_is_saved_through_the_service(self, admin_client):
        operator = OperatorFactory()
        response = admin_client.post(
            f"/admin/stores/operator/{operator.pk}/change/", operator_form(operator, target_fpir="0.002")
        )
        assert response.status_code == 302
        assert Operator.objects.get(pk=operator.pk).target_fpir == 0.002
        assert AuditEntry.objects.get(action="operator.changed").data["target_fpir"] == [None, 0.002]

    def test_a_higher_target_is_refused_beside_the_field(self, admin_client):
        operator = OperatorFactory()
        response = admin_client.post(
            f"/admin/stores/operator/{operator.pk}/change/", operator_form(operator, target_fpir="0.2")
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["target_fpir"] == [
            "The target may be lower than the site's 0.01, never higher."
        ]
        assert Operator.objects.get(pk=operator.pk).target_fpir is None
        assert not AuditEntry.objects.exists()
