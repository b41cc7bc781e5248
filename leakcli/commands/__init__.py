"""Floor 6, what each command does below its presentation: `apply` as a straight line of stages over
one context (write the compiled SQL, open the database, run the models with each source file read
once, finish the checks, audit, export, close) and its publication; `verify` and the acceptance
tests; run_results.json; what the published build holds; and the commands that read a build or
write a project (`diff`, `show`, the report's data, `export dbt`)."""
