"""Qt tests (a package, so their basenames may repeat those of the service tests)."""
