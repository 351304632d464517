"""The embedded broker and database come up and the schema is at head."""

from kafka import KafkaAdminClient
from sqlalchemy import inspect

from profile_store import migrate
from profile_store.db import make_sync_engine
from schemas import topics
from tests.support.migrations import head_revision


def test_database_is_migrated_to_head(database_url: str) -> None:
    assert migrate.current_revision(database_url) == head_revision()
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
