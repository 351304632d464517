"""Channel adapter: email (pure mapping + thin transport)."""
