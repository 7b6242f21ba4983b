"""Display labels for the data categories notices name.

A notice stores its categories as written by the operator (they are part of the published text and
of receipts). The ones in common use have a label in each language; any other is shown as written.
"""

from django.utils.translation import gettext_lazy as _

DATA_CATEGORY_LABELS = {
    "facial template (biometric)": _("facial template (biometric)"),
    "entry time": _("entry time"),
    "store and door": _("store and door"),
    "visits": _("visits"),
    "shelf dwell (shelf, seconds)": _("shelf dwell (shelf, seconds)"),
    "shelf dwell": _("shelf dwell"),
    "purchases": _("purchases"),
    "offer interactions": _("offer interactions"),
}


def data_category_label(category: str) -> str:
    """The category in the active language when it is a known one, else as the notice wrote it."""
    return str(DATA_CATEGORY_LABELS.get(category, category))
