"""The domain: records, households, movements and their rules. Pure Python, no I/O, no AWS."""
