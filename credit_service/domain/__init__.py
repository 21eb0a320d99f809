"""Pure domain logic: no Flask, no SQLAlchemy, no wall clock."""
