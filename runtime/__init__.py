"""Process runtime shared by every deployable, below `ingest`, `services` and `api`: the probe
endpoint of roles without a web app (`probes`), freezing the start-up heap (`heap`), Kafka
client security settings (`kafka_security`) and the offline API documentation pages (`docs`).
Stdlib, pydantic and Starlette only; no contracts here (those are `schemas`)."""
