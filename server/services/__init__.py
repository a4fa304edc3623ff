"""Use cases: each takes the session keyword-only, does one unit of work and commits once."""
