"""Channel adapters: native payloads mapped to canonical events and published to Kafka."""


class IngestError(Exception):
    """Base class for every error raised by `ingest`."""
