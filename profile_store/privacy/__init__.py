"""Data-subject rights: erasure with salted tombstones (`erasure`, `tombstones`) and the
machine-readable export of everything held on a person (`export`)."""
