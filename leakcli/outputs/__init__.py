"""Floor 7, what people and programs read: the terminal (Rich only on a terminal), JSON, markdown and
JUnit, the HTML report, the dbt export, `diff` and `show`. The command line (cli.py) sits above it."""
