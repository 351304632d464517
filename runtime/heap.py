"""Process start-up helpers shared by every deployable (no I/O, no framework imports)."""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Move everything allocated while starting (modules, apps, settings) out of the garbage
    collector's reach, just before serving.

    A full collection otherwise walks those ~100k long-lived objects each time: about 60 ms
    with the whole process stopped, seen as periodic p99 spikes under steady load.
    """
    gc.collect()
    gc.freeze()
