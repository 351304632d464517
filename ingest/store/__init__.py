"""Channel adapter: store (pure mapping + thin transport)."""
