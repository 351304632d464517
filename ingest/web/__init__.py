"""Web channel: the Segment HTTP Tracking API (identify, track, page, screen, alias, group)."""
