"""Scheduled sweeps. Each asks "what is due as of this date?" and acts idempotently."""
