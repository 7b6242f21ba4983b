"""A short name for a browser from its User-Agent ("Firefox / Android"), for the sessions page.

Only the name is kept, never the User-Agent itself. Plain string matching, no third-party list: the
name helps a shopper tell their devices apart and decides nothing.
"""

from __future__ import annotations

# Order matters: Edge and Opera say "Chrome", Chrome says "Safari", Android says "Linux".
_BROWSERS = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
MAX_LENGTH = 80


def user_agent_label(user_agent: str) -> str:
    """'<browser> / <system>' (no words to translate), either part alone when only one is known, '' when neither is."""
    user_agent = user_agent[:512]
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} / {system}"[:MAX_LENGTH]
    return (browser or system)[:MAX_LENGTH]
