"""Infrastructure only: the process cache, request facts, JSON limits, keys, netguard, crypto."""
