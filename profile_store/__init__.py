"""Customer profiles: identity stitching rules (pure), storage models, migrations, repositories."""


class ProfileStoreError(Exception):
    """Base class for every error raised by `profile_store`."""
