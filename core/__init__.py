"""Pieces every layer shares: the audit log, the domain error, the API error shape, pagination."""
