"""Factories for the test suite."""

from datetime import date

import factory
from django.utils import timezone

from portal.models import User
from stores.models import Operator, Store

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    display_name = factory.Faker("name")
    date_of_birth = date(1990, 1, 1)
    language = "en"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    name = factory.Sequence(lambda n: f"Operator {n}")
    slug = factory.Sequence(lambda n: f"operator-{n}")
    contact_email = factory.LazyAttribute(lambda o: f"privacy@{o.slug}.example")
    privacy_officer_name = "Pat Officer"
    privacy_officer_email = factory.LazyAttribute(lambda o: f"dpo@{o.slug}.example")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
