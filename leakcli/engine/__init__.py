"""Floor 2, DuckDB: the only package that imports duckdb and turns its errors into leakcli's;
connections, the lockdown, loading the CSVs typed, the parser's verdicts, and quoting."""
