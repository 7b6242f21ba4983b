"""Template tags for showing notice text in the reader's language."""

from django import template

from consent.data_categories import data_category_label

register = template.Library()


@register.simple_tag
def notice_text(version, field: str, language: str) -> str:
    return version.text(field, language or "en")


@register.filter
def data_category(category: str) -> str:
    return data_category_label(category)
