"""A shopper's footprint at the operator's stores: what devices report about visits, and reading it."""
