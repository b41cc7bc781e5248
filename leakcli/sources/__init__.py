"""Floor 4, the source files: what the data checks learn of each (facts), the checks themselves, the
cache that remembers them, drift against the profiles, profiles, and the synthetic dataset."""
