"""Kafka security settings, shared by every role, and the worker's Faust credentials."""

from __future__ import annotations

import faust
import pytest
from pydantic import ValidationError

from services.kafka_auth import faust_credentials
from services.settings import MigrateSettings, WorkerSettings

DB = "postgresql://u:p@db/threadline"


def worker(**security: str) -> WorkerSettings:
    return WorkerSettings(database_url=DB, erasure_salt="unit-test-erasure-salt", **security)  # type: ignore[arg-type]


def test_plaintext_needs_no_credentials() -> None:
    assert faust_credentials(worker()) is None


def test_scram_over_tls_gives_sasl_ssl_credentials() -> None:
    creds = faust_credentials(
        worker(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="threadline",
            sasl_password="s3cret",
        )
    )
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.protocol.value, creds.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert creds.ssl_context is not None and creds.ssl_context.check_hostname


def test_tls_only_gives_ssl_credentials() -> None:
    assert isinstance(faust_credentials(worker(security_protocol="SSL")), faust.SSLCredentials)


@pytest.mark.parametrize(
    "security",
    [
        {"security_protocol": "SASL_SSL"},
        {"security_protocol": "PLAINTEXT", "sasl_mechanism": "PLAIN"},
        {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u"},
    ],
)
def test_incomplete_security_fails_at_start(security: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        worker(**security)


def test_migrate_passes_the_same_options_to_the_admin_client() -> None:
    settings = MigrateSettings(
        database_url=DB,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password="p",  # type: ignore[arg-type]
    )
    assert settings.kafka_client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }
