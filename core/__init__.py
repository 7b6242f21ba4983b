"""Pieces every layer shares: the domain error, the API error shape, pagination."""
