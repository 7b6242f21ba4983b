"""Small date helpers shared by every layer."""

from datetime import date


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years between a birth date and a day (a birthday on 29 February counts on 1 March)."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)
