"""Use cases: one function each, the only place a transaction starts."""
