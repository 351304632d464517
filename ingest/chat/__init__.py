"""Channel adapter: chat (pure mapping + thin transport)."""
