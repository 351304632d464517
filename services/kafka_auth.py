"""Faust broker credentials from the shared Kafka security settings."""

from __future__ import annotations

import ssl

import faust
from faust.types.auth import CredentialsT

from runtime.kafka_security import KafkaSecurity


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext:
    """A verifying client TLS context, trusting `ssl_cafile` when set (else the system CAs)."""
    return ssl.create_default_context(cafile=security.ssl_cafile)


def faust_credentials(security: KafkaSecurity) -> CredentialsT | None:
    """What `broker_credentials` needs for the configured protocol (None for PLAINTEXT)."""
    protocol = security.security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context(security))
    assert security.sasl_username and security.sasl_password and security.sasl_mechanism
    return faust.SASLCredentials(
        username=security.sasl_username,
        password=security.sasl_password.get_secret_value(),
        ssl_context=ssl_context(security) if protocol == "SASL_SSL" else None,
        mechanism=security.sasl_mechanism,
    )
