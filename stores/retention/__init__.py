"""What goes by itself, on schedule (F7): visit records past their period, face consents no door used for
the operator's template period, old counters. Policy: docs/decisions/0030-retention.md."""
