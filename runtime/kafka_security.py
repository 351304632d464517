"""Kafka connection security (TLS, SASL) shared by every role's settings.

A pydantic mixin: settings classes inherit it, so `THREADLINE_SECURITY_PROTOCOL`,
`THREADLINE_SASL_*` and `THREADLINE_SSL_CAFILE` mean the same thing in every process.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, SecretStr, model_validator

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSecurity(BaseModel):
    """Security protocol, SASL credentials and CA file of the Kafka clients."""

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None

    @model_validator(mode="after")
    def _check_kafka_security(self) -> Any:
        if self.sasl_mechanism and not (self.sasl_username and self.sasl_password):
            raise ValueError("sasl_mechanism needs sasl_username and sasl_password")
        if self.sasl_mechanism and not self.security_protocol.startswith("SASL_"):
            raise ValueError("sasl_mechanism needs security_protocol SASL_PLAINTEXT or SASL_SSL")
        if self.security_protocol.startswith("SASL_") and not self.sasl_mechanism:
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism")
        return self

    def kafka_client_options(self) -> dict[str, Any]:
        """Security options for kafka-python clients (empty for plain local brokers)."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        return options
