"""The consent receipt's shape (consent.receipts builds it), typed for the OpenAPI schema and used
to answer it: ISO/IEC TS 27560 / Kantara Consent Receipt 1.1 fields (requirements C5)."""

from __future__ import annotations

from rest_framework import serializers

from consent.models import Consent, ConsentEvent, Purpose
from core.models import ActorType, Channel
from portal.models import Language


class ReceiptCollectionMethodSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='How consent was collected: "explicit opt-in".')
    channel = serializers.ChoiceField(choices=Channel.choices)
    description = serializers.CharField(help_text="In the receipt's language.")


class ReceiptPrivacyOfficerSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class ReceiptControllerSerializer(serializers.Serializer):
    name = serializers.CharField()
    legal_name = serializers.CharField()
    contact = serializers.CharField(allow_blank=True, help_text="The contact the notice names.")
    email = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    privacy_officer = ReceiptPrivacyOfficerSerializer()


class ReceiptConsentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Consent.Status.choices)
    status_label = serializers.CharField(help_text="The status in the receipt's language.")
    given_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    reaffirmed_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class ReceiptPurposeSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    name = serializers.CharField(help_text="The purpose in the receipt's language.")
    description = serializers.CharField(allow_blank=True)
    method = serializers.CharField(allow_blank=True)
    legal_basis = serializers.CharField()
    consent_type = serializers.CharField(help_text='"explicit".')
    primary_purpose = serializers.BooleanField()
    termination = serializers.CharField()
    third_party_disclosure = serializers.BooleanField()


class ReceiptRetentionSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    description = serializers.CharField(allow_blank=True)
    schedule_url = serializers.URLField()


class ReceiptWithdrawalSerializer(serializers.Serializer):
    method = serializers.CharField()
    api = serializers.CharField(help_text="The API call that withdraws this consent.")
    url = serializers.URLField(help_text="The page where the shopper withdraws.")


class ReceiptNoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    title = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField(allow_null=True)
    material_change = serializers.BooleanField()
    url = serializers.URLField()


class ReceiptEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentEvent.Kind.choices)
    kind_label = serializers.CharField(help_text="The kind in the receipt's language.")
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    actor = serializers.ChoiceField(choices=ActorType.choices)
    notice_version = serializers.IntegerField(allow_null=True)


class ConsentReceiptSerializer(serializers.Serializer):
    receipt_id = serializers.UUIDField(help_text="The same for one state of the consent.")
    schema_version = serializers.CharField()
    timestamp = serializers.DateTimeField(help_text="When the receipt was issued (ISO 8601 with offset).")
    jurisdiction = serializers.CharField(allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices, help_text="The language every text of this receipt is written in."
    )
    collection_method = ReceiptCollectionMethodSerializer()
    principal_id = serializers.UUIDField(help_text="The shopper's public id.")
    controller = ReceiptControllerSerializer()
    consent = ReceiptConsentSerializer()
    purposes = ReceiptPurposeSerializer(many=True)
    data_categories = serializers.ListField(child=serializers.CharField())
    sensitive = serializers.BooleanField()
    special_categories = serializers.ListField(child=serializers.CharField())
    retention = ReceiptRetentionSerializer()
    withdrawal = ReceiptWithdrawalSerializer()
    rights = serializers.CharField(allow_blank=True)
    notice = ReceiptNoticeSerializer()
    events = ReceiptEventSerializer(many=True)
