"""Floor 1, the on-disk contracts (LEAK-SPEC §3): their typed documents, the records plan and apply
keep, the JSON documents leakcli writes, the questions plan asks, and the loader. Below it only
errors, progress, project, files and jsonout."""
