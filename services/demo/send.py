"""Sending the demo to the gateway as the channel systems would (in time order, several
senders at once, retrying what the gateway could not take yet), and waiting until the worker
has written it all."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import httpx

from services import ServicesError
from services.synthetic.native import Request

WRITE_KEY: Final = "dev-write-key"
SENDERS: Final = 6
RETRIES: Final = 5
WRITTEN_TIMEOUT_S: Final = 600.0


class DemoError(ServicesError):
    """The gateway refused part of the demo, or the worker did not write it in time."""


def _send(client: httpx.Client, r: Request) -> None:
    headers = {"Content-Type": r.content_type, **dict(r.headers)}
    for attempt in range(RETRIES + 1):
        try:
            resp = client.post(r.path, content=r.body, headers=headers)
        except httpx.TransportError:
            if attempt == RETRIES:
                raise
        else:
            if resp.is_success:
                return
            if resp.status_code < 500 and resp.status_code != 429:
                raise DemoError(f"the gateway refused {r.path}: {resp.status_code} {resp.text}")
            if attempt == RETRIES:
                raise DemoError(f"the gateway did not take {r.path}: {resp.status_code}")
        time.sleep(0.5 * 2**attempt)


def send_all(ingest_url: str, requests: Sequence[Request], progress: bool = False) -> int:
    """POST every request (several at once, in order); returns how many were accepted."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    events = sum(r.events for r in requests)
    shown = -1
    with (
        httpx.Client(base_url=ingest_url, headers={"Authorization": auth}, timeout=30) as client,
        ThreadPoolExecutor(SENDERS) as pool,
    ):
        done = 0
        for i, _ in enumerate(pool.map(lambda r: _send(client, r), requests)):
            done += requests[i].events
            tenth = 10 * done // max(events, 1)
            if progress and tenth != shown:
                shown = tenth
                print(f"demo: sent {done:,} of {events:,} events", flush=True)
    return len(requests)


def wait_written(bootstrap: str, group: str, timeout_s: float = WRITTEN_TIMEOUT_S) -> None:
    """Wait until the worker's group has committed everything the broker holds."""
    # Imported here: the dev stack's package imports the demo (to run it), not the reverse.
    from services.devstack.backlog import Backlog

    backlog = Backlog(bootstrap, group)
    deadline = time.monotonic() + timeout_s
    try:
        quiet = 0
        while quiet < 2:  # twice in a row: a commit in flight is not mistaken for the end
            left = backlog.lag()
            quiet = quiet + 1 if left == 0 else 0
            if time.monotonic() > deadline:
                raise DemoError(f"the worker had {left} events left to write after {timeout_s} s")
            time.sleep(0.5)
    finally:
        backlog.close()
