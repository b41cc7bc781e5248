"""Floor 6, `apply` and `verify`: the build as a straight line of stages over one context (write the
compiled SQL, open the database, load the sources, finish the checks, run the models, audit, export,
close), its publication, the acceptance tests, run_results.json, and what the published build holds."""
