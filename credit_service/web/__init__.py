"""Pieces for the browser doors (the staff console, issue 11; self-service, issue 12)."""
