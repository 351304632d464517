"""Channel adapter: call_centre (pure mapping + thin transport)."""
