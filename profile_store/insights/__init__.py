"""CX insight: journey metrics and moments-of-truth rules computed from ordered timelines."""

from profile_store import ProfileStoreError


class InsightsError(ProfileStoreError):
    """Base class for errors raised by `profile_store.insights`."""
