"""The document as a PDF, made by WeasyPrint from the printable page: no browser, and nothing fetched from
anywhere (the stylesheet is handed over, every other address is refused)."""

from __future__ import annotations

from django.contrib.staticfiles import finders

STYLESHEET = "portal/document.css"


def _fetch_nothing(url: str, *args, **kwargs):
    raise ValueError(f"The document loads nothing from outside: {url}")


def pdf_from_html(html: str) -> bytes:
    from weasyprint import CSS, HTML  # loads Pango; only the pages that make a PDF pay for it

    stylesheet = CSS(filename=finders.find(STYLESHEET), url_fetcher=_fetch_nothing)
    return HTML(string=html, url_fetcher=_fetch_nothing).write_pdf(stylesheets=[stylesheet])
