"""Privacy requests: erasure and access, from shoppers or opened by staff, with their deadlines (F5, F6)."""
