"""ProSync local stack: Postgres cluster, moto server, Sync.so emulator, HTTP gateway, CLI."""
