"""Forms of the shopper web pages; each hands its cleaned data to a service."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.time_zones import time_zone_choices
from portal.models import FootprintRetention, Language
from stores.models import Operator


class DateInput(forms.DateInput):
    """The browser's date picker: it shows and sends yyyy-mm-dd only, whatever the page's language
    (Chinese pages used to write 1990/01/01 into it, which the browser threw away)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    display_name = forms.CharField(label=_("Display name"), max_length=80)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DateInput())
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.ENGLISH)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password, not only digits."),
    )


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class VerifyEmailForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    code = forms.RegexField(
        label=_("Six-digit code"), regex=r"^\s*\d{6}\s*$", error_messages={"invalid": _("Enter the six-digit code.")}
    )


class EmailOnlyForm(forms.Form):
    email = forms.EmailField(label=_("Email"))


class SetPasswordForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=80)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DateInput())
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Times on these pages are shown in it, with its name."),
    )
    recognition_email = forms.BooleanField(
        label=_("Email me when a store recognises me"),
        required=False,
        help_text=_(
            "A mail each time a door recognises your face or your entry pass lets you in: where and when."
            " Your notifications list shows them either way."
        ),
    )
    footprint_retention_months = forms.TypedChoiceField(
        label=_("Keep my visit records"),
        choices=FootprintRetention.choices,
        coerce=int,
        # Left out of a post: unchanged.
        required=False,
        empty_value=None,
        help_text=_(
            "Each store operator deletes its records of your visits (with what its stores reported and how its"
            " doors recognised you) after the shorter of this and its own period."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The names are read when the form is made, not when this module is imported. A zone set
        # through the API that is not offered (a legacy alias) stays selectable for its holder.
        names = list(time_zone_choices())
        current = self.initial.get("time_zone") or ""
        if current and current not in names:
            names.insert(0, current)
        self.fields["time_zone"].choices = [
            ("", _("The store operator's time zone")),
            *((name, name) for name in names),
        ]


class EntryPassForm(forms.Form):
    """Where the pass works: any operator's doors (the default) or one operator's only."""

    operator = forms.ModelChoiceField(
        label=_("Where it works"),
        queryset=Operator.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("Any store"),
        error_messages={"invalid_choice": _("Choose one of the operators listed.")},
    )


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password, not only digits."),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(label=_("New email address"), max_length=254)
    password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Six-digit code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the six-digit code.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
