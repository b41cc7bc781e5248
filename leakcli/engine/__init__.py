"""DuckDB: the only package that imports duckdb and turns its errors into leakcli's."""
