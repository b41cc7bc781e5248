"""The on-disk contracts (LEAK-SPEC §3): their typed documents, the records plan and apply keep, the
questions plan asks, and the loader. The lowest floor but errors and small utilities."""
