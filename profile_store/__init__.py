"""Customer profiles: the identity domain and its storage, in layers named for what they hold.

- `domain/`: identity rules and stitching, traits, lateness and re-derivation planning (pure);
- `storage/`: tables, migrations, engines and drivers, locks, survivor resolution, errors;
- `write/`: the batch writer, incremental and re-derivation paths, merges, identity admin;
- `read/`: profile, timeline, search, summary, lineage, live stream, their output models;
- `privacy/`: erasure, tombstones, export;
- `insights/`: journey metrics and moments-of-truth signals;
- `deadletters`: the durable dead-letter store.
"""


class ProfileStoreError(Exception):
    """Base class for every error raised by `profile_store`."""
