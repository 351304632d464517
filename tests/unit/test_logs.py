"""Log masking: PII never reaches the log output, even when code logs it by mistake."""

from __future__ import annotations

import logging

import orjson
import pytest
import structlog

from services.logs import MASK, configure_logging, mask_pii, mask_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail from Maria.Lima+x@Shop.io failed", f"mail from {MASK} failed"),
        ("caller +1 (415) 555-0132 hung up", f"caller {MASK} hung up"),
        ("call 415.555.0132 now", f"call {MASK} now"),
        ("whatsapp:+447700900123", f"whatsapp:{MASK}"),
        ("at 2026-11-23T12:59:35Z", "at 2026-11-23T12:59:35Z"),
        ("batch of 500 in 0.25 s, offset 1234567", "batch of 500 in 0.25 s, offset 1234567"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_processor_drops_pii_keys_keeps_ids() -> None:
    out = mask_pii(
        None,
        "info",
        {
            "event": "lookup for ana@x.io",
            "email": "ana@x.io",
            "value": "u-42",
            "event_id": "smtp:<abc@mail.x.io>",
            "count": 3,
        },
    )
    assert out == {
        "event": f"lookup for {MASK}",
        "email": MASK,
        "value": MASK,
        "event_id": "smtp:<abc@mail.x.io>",
        "count": 3,
    }


def test_configured_logging_masks_structlog_stdlib_and_exceptions(
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    try:
        structlog.get_logger("t").warning("oops", phone="+14155550132", detail="to bob@shop.io")
        logging.getLogger("thirdparty").warning("refused +1 415 555 0132")
        try:
            raise ValueError("duplicate key (email)=(carol@shop.io)")
        except ValueError:
            structlog.get_logger("t").exception("failed")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    err = capfd.readouterr().err
    lines = [orjson.loads(line) for line in err.splitlines()]
    assert len(lines) == 3
    for pii in ("4155550132", "415 555 0132", "bob@shop.io", "carol@shop.io"):
        assert pii not in err
    assert lines[0]["phone"] == MASK and MASK in lines[2]["exception"]
