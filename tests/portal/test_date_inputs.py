"""Date inputs speak yyyy-mm-dd whatever the page's language: a browser's date input reads nothing else."""

import inspect
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from django import forms as django_forms
from django.utils import translation

from portal import forms
from portal.models import User

pytestmark = pytest.mark.django_db

CHINESE = {"headers": {"accept-language": "zh-hans"}}


class MainFormFields(HTMLParser):
    """The fields of the page's form inside <main>, with the values the page gives them."""

    def __init__(self):
        super().__init__()
        self.in_main = self.in_form = False
        self.select = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        elif tag == "form" and self.in_main:
            self.in_form = True
        elif not self.in_form:
            return
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields[self.select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None


def fields_as_rendered(html: str) -> dict[str, str]:
    parser = MainFormFields()
    parser.feed(html)
    return parser.fields


def date_fields():
    for name, form_class in inspect.getmembers(forms, inspect.isclass):
        if issubclass(form_class, django_forms.BaseForm):
            for field_name, field in form_class.base_fields.items():
                if isinstance(field, django_forms.DateField):
                    yield pytest.param(form_class, field_name, id=f"{name}.{field_name}")


@pytest.mark.parametrize(("form_class", "field_name"), list(date_fields()))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_date_field_renders_a_date_input_in_iso(form_class, field_name, language):
    with translation.override(language):
        html = str(form_class(initial={field_name: date(1988, 3, 14)})[field_name])
    assert 'type="date"' in html
    assert 'value="1988-03-14"' in html


def test_the_chinese_profile_page_shows_the_date_of_birth_in_iso(client, shopper):
    shopper.language = "zh-hans"
    shopper.date_of_birth = date(1988, 3, 14)
    shopper.save(update_fields=["language", "date_of_birth"])
    client.force_login(shopper)

    html = client.get("/profile/").content.decode()

    assert 'lang="zh-hans"' in html
    assert re.search(r'<input type="date" name="date_of_birth" value="1988-03-14"', html)
    assert "1988/03/14" not in html


def test_the_chinese_profile_saves_as_rendered(client, shopper):
    shopper.language = "zh-hans"
    shopper.date_of_birth = date(1988, 3, 14)
    shopper.save(update_fields=["language", "date_of_birth"])
    client.force_login(shopper)
    fields = fields_as_rendered(client.get("/profile/").content.decode())
    assert fields["date_of_birth"] == "1988-03-14"

    response = client.post("/profile/", {**fields, "display_name": "王小明"})

    assert response.status_code == 302 and response["Location"] == "/profile/"
    shopper.refresh_from_db()
    assert (shopper.display_name, shopper.date_of_birth, shopper.language) == ("王小明", date(1988, 3, 14), "zh-hans")


def test_a_chinese_sign_up_sent_back_after_an_error_goes_through_as_rendered(client):
    response = client.post(
        "/signup/",
        {
            "email": "zh@example.com",
            "display_name": "王小明",
            "date_of_birth": "1988-03-14",
            "language": "zh-hans",
            "password": "123",
        },
        **CHINESE,
    )
    assert response.status_code == 400
    fields = fields_as_rendered(response.content.decode())
    assert fields["date_of_birth"] == "1988-03-14"

    response = client.post("/signup/", {**fields, "password": "a long enough passphrase"}, **CHINESE)

    assert response.status_code == 302
    assert User.objects.get(email="zh@example.com").date_of_birth == date(1988, 3, 14)
