"""Storage: the tables and their migrations, engines and the agent's psycopg read pool, the
stitching locks, the one survivor resolution, the audit log, and the one translation of driver
errors into the store's own exceptions. Everything else in `profile_store` reaches PostgreSQL
through here."""
