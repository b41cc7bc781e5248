"""Floor 7, what people and programs read: the terminal (Rich only on a terminal), JSON, markdown and
JUnit, the plan and the diff drawn Terraform's way, and the HTML report's page. Presenters only: they
receive what a command found and never query. The command line (cli.py) sits above it."""
