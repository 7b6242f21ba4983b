"""Deleting an account and proving nothing of the person is left (F4; decision 0033)."""
