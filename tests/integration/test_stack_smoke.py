"""The embedded broker and database come up and the schema is at head."""

from kafka import KafkaAdminClient
from sqlalchemy import inspect

from profile_store.storage import migrate
from profile_store.storage.engines import make_sync_engine
from schemas import topics


def test_database_is_migrated_to_head(database_url: str) -> None:
    assert migrate.current_revision(database_url) == migrate.head_revision()
    engine = make_sync_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"customers", "identifiers", "timeline_events", "merges", "dead_letters"} <= tables


def test_broker_has_the_topics(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert set(topics.ALL_TOPICS) <= set(admin.list_topics())
    finally:
        admin.close()


def test_migrations_build_exactly_the_tables_the_code_declares(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from profile_store.storage.engines import make_sync_engine
    from profile_store.storage.tables import metadata

    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    # Expression indexes come back from the catalogue in PostgreSQL's own rendering, so the
    # same index shows as removed and added under one name: compare those by name only.
    names = {op: {d[1].name for d in diff if d[0] == op} for op in ("add_index", "remove_index")}
    same = names["add_index"] & names["remove_index"]
    real = [d for d in diff if not (d[0] in names and d[1].name in same)]
    assert real == []
