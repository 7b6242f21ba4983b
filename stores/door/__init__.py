"""The store door: matching a face or an entry pass at an entrance, the match workers' indexes and the probe's trip."""
