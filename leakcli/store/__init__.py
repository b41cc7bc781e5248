"""Floor 3, target/ on disk: the builds and their atomic publication, what may be overwritten, the
build lock, and the metadata and summary a build leaves beside its database."""
