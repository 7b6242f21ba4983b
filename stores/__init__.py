"""Operators, stores, entrance devices, the device API, and the visits and matches the doors record."""
