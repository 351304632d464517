"""Channel adapter: surveys (pure mapping + thin transport)."""
