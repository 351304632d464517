"""SMTP listener of the email adapter (`threadline smtp`): aiosmtpd on the running loop.

Each accepted message is mapped and published; `250 OK` is answered only once the broker
acknowledged it, `451 4.3.0` (retry later) otherwise, so the sending MTA keeps the mail in
its queue. Only mail for the company's own domains is accepted (no relaying); with no
company domains configured the listener accepts any recipient in dev mode (it is bound to
loopback there) and refuses to start otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any, Final

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from ingest.devcontrol import install_dev_control
from ingest.email.mapping import is_company_address, map_email
from ingest.metrics import IngestMetrics
from ingest.publisher import KafkaPublisher, Publisher, PublishError
from ingest.server import EXIT_CONFIG, EXIT_STARTUP, describe_config_error
from ingest.settings import IngestSettings
from runtime.probes import ProbeServer
from schemas import InvalidEvent
from schemas.events import encode_within_limits, utc_now

log = structlog.get_logger()

RELAY_DENIED: Final = "550 5.7.1 Relaying denied"
TRY_LATER: Final = "451 4.3.0 Event broker unavailable, try again later"
LOCAL_ERROR: Final = "451 4.3.0 Temporary local problem, try again later"
ACCEPTED: Final = "250 OK"
AIOSMTPD_LOGGER: Final = "mail.log"
_REASON_CHARS: Final = 200
PROBE_TIMEOUT_S: Final = 2.0


class EmailHandler:
    """aiosmtpd handler: refuses relaying, maps each message and publishes it before `250`."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        company_domains: Sequence[str] = (),
        open_recipients: bool = False,
        default_region: str = "US",
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.publisher = publisher
        self.metrics = metrics or IngestMetrics()
        self.company_domains = tuple(d.lower() for d in company_domains)
        #: Accept any recipient domain (dev mode without company domains).
        self.open_recipients = open_recipients
        self.default_region = default_region
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_settings(
        cls, settings: IngestSettings, publisher: Publisher, metrics: IngestMetrics | None = None
    ) -> EmailHandler:
        """A handler for the configured domains (open recipients only in dev mode)."""
        return cls(
            publisher,
            company_domains=settings.company_domains,
            open_recipients=settings.dev_mode and not settings.company_domains,
            default_region=settings.default_region,
            metrics=metrics,
        )

    def accepts_recipient(self, address: str) -> bool:
        """True if mail for `address` is ours to take (its domain is a company domain)."""
        if self.open_recipients:
            return True
        return "@" in address and is_company_address(address, self.company_domains)

    async def handle_RCPT(  # aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Refuse recipients outside the company domains (we are not a relay)."""
        if not self.accepts_recipient(address):
            self._rejected("relaying_denied")
            return RELAY_DENIED
        envelope.rcpt_tos.append(address)
        return ACCEPTED

    async def handle_DATA(  # aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Map and publish the message; `250` only after the broker acknowledged it."""
        self.in_flight += 1
        self._idle.clear()
        try:
            return await self._deliver(envelope)
        except Exception as exc:  # never crash a session; the MTA retries
            log.error("smtp_failed", error_type=type(exc).__name__, exc_info=exc)
            self.metrics.rejected.labels("smtp_local_error").inc()
            return LOCAL_ERROR
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def _deliver(self, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            events = await asyncio.to_thread(
                map_email,
                raw,
                utc_now(),
                company_domains=self.company_domains,
                default_region=self.default_region,
            )
            for event in events:  # what the worker would refuse is refused here, not queued
                encode_within_limits(event)
        except InvalidEvent as exc:
            self._rejected("invalid_message")
            return f"550 5.6.0 {_reply_text(str(exc))}"
        started = time.perf_counter()
        try:
            await self.publisher.publish(events)
        except PublishError:
            log.warning("smtp_publish_failed", events=len(events))
            self.metrics.rejected.labels("broker_unavailable").inc()
            return TRY_LATER
        self.metrics.publish_latency.observe(time.perf_counter() - started)
        for event in events:
            self.metrics.accepted.labels(event.channel.value, event.source).inc()
        log.info("email_accepted", transport="smtp", events=len(events), kind=events[0].kind)
        return ACCEPTED

    def _rejected(self, code: str) -> None:
        log.info("smtp_rejected", code=code)
        self.metrics.rejected.labels(code).inc()

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) for messages being delivered to be answered."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)


def _reply_text(reason: str) -> str:
    """A reason fit for an SMTP reply line: printable ASCII, one line, bounded."""
    text = " ".join(reason.split()).encode("ascii", "replace").decode()
    return text[:_REASON_CHARS] or "invalid message"


async def start_server(
    handler: EmailHandler,
    host: str,
    port: int,
    *,
    data_size_limit: int,
    hostname: str | None = None,
) -> asyncio.AbstractServer:
    """Listen on `host:port` (0 = any free port) on the running loop; 552 past the limit."""
    loop = asyncio.get_running_loop()
    name = hostname or socket.gethostname()
    # aiosmtpd logs every command, envelope sender and recipient at INFO (PII): errors only.
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.ERROR)

    def factory() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=data_size_limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=name,
            loop=loop,
        )

    return await loop.create_server(factory, host=host, port=port)


def bound_port(server: asyncio.AbstractServer) -> int:
    """The port a started server listens on (useful after binding port 0)."""
    sockets: Any = getattr(server, "sockets", ())
    return int(sockets[0].getsockname()[1])


async def serve(settings: IngestSettings, stop: asyncio.Event | None = None) -> None:
    """Run the listener until `stop` is set (default: SIGTERM/SIGINT), then drain and close."""
    publisher = KafkaPublisher.from_settings(settings)
    handler = EmailHandler.from_settings(settings, publisher)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        server = await start_server(
            handler,
            settings.smtp_host,
            settings.smtp_port,
            data_size_limit=settings.email_max_bytes,
        )
    except OSError as exc:
        await publisher.close()
        raise StartupError(f"cannot listen on the SMTP port: {exc.strerror}") from None
    log.info("smtp_started", host=settings.smtp_host, port=bound_port(server))
    probes: ProbeServer | None = None
    try:
        probes = await _start_probes(settings, handler, publisher)
        # Listening already: a broker that is down is logged here, and answered with 451.
        await publisher.start()
        if settings.dev_control_dir is not None:
            install_dev_control(publisher, settings.dev_control_dir, "smtp")
        await stop.wait()
    finally:
        server.close()
        if probes is not None:
            await probes.close()
        await handler.drain(settings.publish_timeout_s + 1)
        await publisher.close()
        log.info("smtp_stopped")


async def _start_probes(
    settings: IngestSettings, handler: EmailHandler, publisher: Publisher
) -> ProbeServer | None:
    """/healthz, /readyz (broker reachable) and /metrics on the metrics port, unless it is 0."""
    if not settings.smtp_metrics_port:
        return None

    async def ready() -> dict[str, bool]:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                return {"kafka": await publisher.ready(PROBE_TIMEOUT_S)}
        except TimeoutError:
            return {"kafka": False}

    def metrics() -> tuple[bytes, str]:
        return handler.metrics.render(), CONTENT_TYPE_LATEST

    probes = ProbeServer(ready, metrics, check_timeout_s=PROBE_TIMEOUT_S + 2)
    try:
        port = await probes.start(settings.smtp_metrics_host, settings.smtp_metrics_port)
    except OSError as exc:
        raise StartupError(f"cannot listen on the metrics port: {exc.strerror}") from None
    log.info("smtp_probes_listening", host=settings.smtp_metrics_host, port=port)
    return probes


class StartupError(Exception):
    """The listener could not start (e.g. the port is taken)."""


def main() -> None:
    """Run the SMTP listener until SIGINT/SIGTERM; exit 2 on bad configuration."""
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        print(
            f"threadline smtp: invalid configuration\n{describe_config_error(exc)}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_CONFIG) from None
    if not settings.company_domains and not settings.dev_mode:
        print(
            "threadline smtp: invalid configuration\n  THREADLINE_COMPANY_DOMAINS: is empty; "
            "the SMTP listener accepts mail for these domains only (it is not a relay)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_CONFIG)
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"threadline smtp: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_STARTUP) from None


if __name__ == "__main__":
    main()
