"""Pure mapping of generic store (till) receipts to canonical `store` events (no I/O).

Input, one receipt object or a JSON list of them (up to `MAX_RECEIPTS`):

    {"receipt_id": "R-20241123-0042", "store_id": "LON-01",
     "occurred_at": "2024-11-23T10:15:02+00:00",        # offset required
     "type": "sale" | "return",                          # optional, default sale
     "customer": {"email": ..., "phone": ..., "loyalty_id": ..., "user_id": ...},
     "lines": [{"sku": "SKU-1", "description": "Mug", "quantity": 2, "unit_price": "9.95",
                "amount": "19.90"}],
     "total": "19.90", "currency": "EUR",
     "order_id": "W-5001", "register_id": "T3", "cashier": "jdoe"}   # optional

Kind `return` when `type` is `return` or the total is negative, else `order_placed`.
`event_id` is `store-receipt:<store_id>:<receipt_id>`. At least one customer identifier
or an `order_id` is required (a receipt nobody can be found by is refused).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ingest.common import build_event, clip
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.events import describe_validation_error, make_event_id
from schemas.identifiers import EMAIL, LOYALTY_ID, ORDER_ID, PHONE, USER_ID
from schemas.timestamps import believed

SOURCE: Final = "store-receipt"
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_RECEIPTS: Final = 500

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=4)]
Label = Annotated[str, Field(max_length=200)]


class ReceiptCustomer(BaseModel):
    """Who bought: any of the identifiers the till captured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Label | None = None
    phone: Label | None = None
    loyalty_id: Label | None = None
    user_id: Label | None = None


class ReceiptLine(BaseModel):
    """One receipt line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Label | None = None
    description: Label | None = None
    quantity: Amount = Decimal(1)
    unit_price: Amount | None = None
    amount: Amount | None = None


class Receipt(BaseModel):
    """A till receipt as a store system posts it to `POST /store/receipts`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    receipt_id: Id
    store_id: Id
    occurred_at: AwareDatetime
    type: Literal["sale", "return"] = "sale"
    customer: ReceiptCustomer = ReceiptCustomer()
    lines: list[ReceiptLine] = Field(default_factory=list, max_length=500)
    total: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    order_id: Id | None = None
    register_id: Label | None = None
    cashier: Label | None = None


def map_receipts(
    body: Any, received_at: datetime, default_region: str = "US"
) -> list[CanonicalEvent]:
    """Map one receipt or a list of them, all or nothing."""
    if isinstance(body, list):
        if not body:
            raise InvalidEvent("body: the list of receipts is empty")
        if len(body) > MAX_RECEIPTS:
            raise InvalidEvent(f"body: {len(body)} receipts is over the {MAX_RECEIPTS} limit")
        return [
            map_receipt(r, received_at, default_region, path=f"[{i}]") for i, r in enumerate(body)
        ]
    return [map_receipt(body, received_at, default_region)]


def map_receipt(
    data: Any, received_at: datetime, default_region: str = "US", *, path: str = ""
) -> CanonicalEvent:
    """Map one receipt; raise `InvalidEvent` naming the field."""
    where = path or "receipt"
    if not isinstance(data, dict):
        raise InvalidEvent(f"{where}: must be a JSON object")
    try:
        receipt = Receipt.model_validate(data)
    except ValidationError as exc:
        prefix = f"{path}." if path else ""
        raise InvalidEvent(prefix + describe_validation_error(exc)) from None
    identifiers = _identifiers(receipt, default_region, path)
    is_return = receipt.type == "return" or receipt.total < 0
    kind = "return" if is_return else "order_placed"
    items = sum((line.quantity for line in receipt.lines), Decimal(0))
    attrs: dict[str, Any] = {
        "receipt_id": receipt.receipt_id,
        "store_id": receipt.store_id,
        "receipt_type": "return" if is_return else "sale",
        "sales_channel": "in_store",
        "total": str(receipt.total),
        "currency": receipt.currency,
        "items": str(items.normalize()) if items % 1 else int(items),
        "lines": [
            {
                k: str(v) if isinstance(v, Decimal) else v
                for k, v in line.model_dump().items()
                if v is not None
            }
            for line in receipt.lines
        ],
        "order_id": receipt.order_id,
        "register_id": receipt.register_id,
        "cashier": receipt.cashier,
    }
    attrs = {k: v for k, v in attrs.items() if v is not None and v != []}
    what = "Return" if is_return else "Purchase"
    count: Decimal | int = abs(items).normalize() if items % 1 else abs(int(items))
    summary = (
        f"{what} at store {receipt.store_id}: {count} item{'' if count == 1 else 's'}, "
        f"{receipt.total} {receipt.currency} (receipt {receipt.receipt_id})"
    )
    return build_event(
        where,
        event_id=make_event_id(SOURCE, f"{receipt.store_id}:{receipt.receipt_id}"),
        channel=Channel.STORE,
        kind=kind,
        occurred_at=believed(receipt.occurred_at, received_at, f"{where}.occurred_at"),
        received_at=received_at,
        source=SOURCE,
        identifiers=identifiers,
        summary=clip(summary),
        attributes=attrs,
    )


def _identifiers(receipt: Receipt, region: str, path: str) -> tuple[Identifier, ...]:
    prefix = f"{path}." if path else ""
    customer = receipt.customer
    candidates = [
        (USER_ID, customer.user_id, "customer.user_id"),
        (EMAIL, customer.email, "customer.email"),
        (PHONE, customer.phone, "customer.phone"),
        (LOYALTY_ID, customer.loyalty_id, "customer.loyalty_id"),
        (ORDER_ID, receipt.order_id, "order_id"),
    ]
    found = []
    for type_, value, where in candidates:
        if value is None or not value.strip():
            continue
        try:
            found.append(Identifier.parse(type_, value, region))
        except InvalidIdentifier as exc:
            raise InvalidEvent(f"{prefix}{where}: {exc}") from None
    if not found:
        raise InvalidEvent(
            f"{prefix}customer: needs one of email, phone, loyalty_id, user_id (or order_id)"
        )
    return tuple(found)
