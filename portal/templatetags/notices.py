"""Template tags for showing notice text in the reader's language."""

from django import template

register = template.Library()


@register.simple_tag
def notice_text(version, field: str, language: str) -> str:
    return version.text(field, language or "en")
