"""ProSync shared library: models, validation, job store, storage, Sync.so client."""
