"""Date and time formats per language: one for dates, one for dates with a time (FORMAT_MODULE_PATH)."""
