"""leakcli: find where an online shop leaks revenue (plan, apply, verify over DuckDB)."""

__version__ = "0.1.0"
