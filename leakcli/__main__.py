from leakcli.cli import app

app(prog_name="leakcli")
