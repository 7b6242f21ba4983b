"""Operators' notices and their versions, consents and their events, receipts, entry passes."""
