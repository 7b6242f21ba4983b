"""The document as a PDF, made by WeasyPrint from the printable page: no browser, and nothing fetched from
anywhere (the stylesheet is handed over, every other address is refused)."""

from __future__ import annotations

from django.contrib.staticfiles import finders

STYLESHEET = "portal/document.css"


def _fetch_nothing(url: str, *args, **kwargs):
    raise ValueError(f"The document loads nothing from outside: {url}")


def _weasyprint():
    """WeasyPrint, imported on first use (it loads Pango). Its import sets Pillow's process-wide
    `LOAD_TRUNCATED_IMAGES`, which would let a cut-off photo through the face engine in the same process: the
    setting is put back (the documents have no images)."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint

    ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


def pdf_from_html(html: str) -> bytes:
    weasyprint = _weasyprint()
    CSS, HTML = weasyprint.CSS, weasyprint.HTML

    stylesheet = CSS(filename=finders.find(STYLESHEET), url_fetcher=_fetch_nothing)
    return HTML(string=html, url_fetcher=_fetch_nothing).write_pdf(stylesheets=[stylesheet])
