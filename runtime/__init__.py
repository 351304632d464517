"""Process runtime shared by every deployable, below `ingest`, `services` and `api`: the probe
endpoint of roles without a web app (`probes`), freezing the start-up heap (`heap`) and Kafka
client security settings (`kafka_security`). Stdlib and pydantic only; no contracts here
(those are `schemas`)."""
