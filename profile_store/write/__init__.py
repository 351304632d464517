"""The write path: the batch writer (`writer`), which loads the part of the identity graph a
batch touches (`graph`) and applies it incrementally (`incremental`, `merges`, `aggregates`) or
re-derives it from stored events (`rebuild`), and the admin's unmerge and manual merge
(`identity_admin`). The rules come from `profile_store.domain`; nothing here reads for agents."""
