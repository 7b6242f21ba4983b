"""Operators, stores, entrance devices, the device API, visits, shelf dwell and purchases."""
