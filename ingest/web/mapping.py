"""Pure mapping of Segment HTTP Tracking API messages to canonical `web` events (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson
from pydantic import ValidationError

from ingest.common import clip, name_traits
from ingest.web.message_keys import SOURCE, Loc, event_id, time_of
from ingest.web.verification import BrowserSource, vouched
from schemas import CanonicalEvent, Channel, Identifier, InvalidEvent, InvalidIdentifier
from schemas.errors import EventTooLarge
from schemas.events import describe_validation_error
from schemas.identifiers import ANONYMOUS_ID, EMAIL, PHONE, USER_ID
from schemas.timestamps import CLOCK_CORRECTED
from schemas.trust import Trust

#: Segment's limits: 32 KB per message (and per single-call request), 500 KB per batch.
MAX_MESSAGE_BYTES: Final = 32 * 1024
MAX_BATCH_BYTES: Final = 500 * 1024
MAX_BATCH_MESSAGES: Final = 2500

KINDS: Final = {
    "identify": "identified",
    "track": "tracked",
    "page": "page_viewed",
    "screen": "screen_viewed",
    "alias": "aliased",
    "group": "grouped",
}
_TYPES: Final = ", ".join(sorted(KINDS))
_CONTEXT_KEPT: Final = ("userAgent", "locale", "timezone", "campaign", "library", "app", "os")
_PAGE_KEPT: Final = ("url", "path", "title", "referrer", "search")


class MessageTooLarge(EventTooLarge):
    """A message or request is over Segment's size limits."""


def check_size(size: int, limit: int, where: str) -> None:
    """Raise `MessageTooLarge` if `size` bytes exceed `limit`."""
    if size > limit:
        raise MessageTooLarge(f"{where}: {size} bytes is over the {limit // 1024} KB limit")


def map_message(
    msg: Any,
    received_at: datetime,
    default_region: str = "US",
    *,
    path: str = "",
    browser: BrowserSource | None = None,
) -> CanonicalEvent:
    """Map one Segment message; raise `InvalidEvent` naming the field (prefixed by `path`).
    From a `browser` source, only what it vouches for links; the rest are claims."""
    if not isinstance(msg, Mapping):
        raise InvalidEvent(f"{path or 'body'}: must be a JSON object")
    check_size(_encoded_size(msg, path), MAX_MESSAGE_BYTES, path or "message")
    return _map(msg, received_at, default_region, path, browser)


def map_batch(
    body: Any,
    received_at: datetime,
    default_region: str = "US",
    browser: BrowserSource | None = None,
) -> list[CanonicalEvent]:
    """Map a `/v1/batch` body, all or nothing: the first bad message raises `InvalidEvent`.

    Batch-level `context` and `integrations` are merged into each message (the message's
    own keys win) and a batch-level `sentAt` applies to messages without one.
    """
    if not isinstance(body, Mapping):
        raise InvalidEvent("body: must be a JSON object")
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise InvalidEvent("batch: must be a list of messages")
    if len(batch) > MAX_BATCH_MESSAGES:
        raise InvalidEvent(f"batch: {len(batch)} messages is over the {MAX_BATCH_MESSAGES} limit")
    shared = {k: body[k] for k in ("context", "integrations") if isinstance(body.get(k), Mapping)}
    _encoded_size(shared, "batch context")
    sent_at = body.get("sentAt")
    events = []
    for index, item in enumerate(batch):
        path = f"batch[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEvent(f"{path}: must be a JSON object")
        check_size(_encoded_size(item, path), MAX_MESSAGE_BYTES, path)
        msg = dict(item)
        for key, value in shared.items():
            own = msg.get(key)
            if own is None:
                msg[key] = value
            elif isinstance(own, Mapping):
                msg[key] = {**value, **own}
        if sent_at is not None and msg.get("sentAt") is None:
            msg["sentAt"] = sent_at
        events.append(_map(msg, received_at, default_region, path, browser))
    return events


def _encoded_size(msg: Mapping[str, Any], path: str) -> int:
    try:
        return len(orjson.dumps(msg))
    except (orjson.JSONEncodeError, TypeError):
        raise InvalidEvent(f"{path or 'body'}: is not representable as JSON") from None


def _map(
    msg: Mapping[str, Any],
    received_at: datetime,
    region: str,
    path: str,
    browser: BrowserSource | None,
) -> CanonicalEvent:
    def loc(name: str) -> str:
        return f"{path}.{name}" if path else name

    type_ = msg.get("type")
    if not isinstance(type_, str) or type_ not in KINDS:
        raise InvalidEvent(f"{loc('type')}: must be one of {_TYPES}")
    context = _object(msg, "context", loc)
    identifiers = _identifiers(msg, type_, context, region, loc)
    trust = Trust.SERVER
    claims: tuple[Identifier, ...] = ()
    if browser is not None:
        traits = [_object(context, "traits", loc)]
        if type_ == "identify":
            traits.insert(0, _object(msg, "traits", loc))
        try:
            split = vouched(msg, identifiers, browser.secret, traits)
        except InvalidEvent as exc:
            raise InvalidEvent(f"{path}.{exc}" if path else str(exc)) from None
        trust, identifiers, claims = split.trust, list(split.identifiers), split.claims
    when, clock_note = time_of(msg, received_at, loc)
    summary = clip(_summary(msg, type_, context, loc))
    attributes = _attributes(msg, type_, context, loc)
    if clock_note is not None:
        attributes[CLOCK_CORRECTED] = clock_note
    try:
        event = CanonicalEvent(
            event_id=event_id(msg, loc),
            channel=Channel.WEB,
            kind=KINDS[type_],
            occurred_at=when,
            received_at=received_at,
            source=SOURCE,
            identifiers=tuple(identifiers),
            summary=summary,
            attributes=attributes,
            trust=trust,
            claims=claims,
        )
    except ValidationError as exc:
        raise InvalidEvent(f"{path or 'message'}: {describe_validation_error(exc)}") from None
    return event


def _object(msg: Mapping[str, Any], name: str, loc: Loc) -> Mapping[str, Any]:
    value = msg.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"{loc(name)}: must be an object")
    return value


def _text(msg: Mapping[str, Any], name: str, loc: Loc, required: bool = False) -> str | None:
    value = msg.get(name)
    if value is None:
        if required:
            raise InvalidEvent(f"{loc(name)}: is required")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{loc(name)}: must be a string")
    if not value.strip():
        if required:
            raise InvalidEvent(f"{loc(name)}: must not be empty")
        return None
    return value


def _ident(type_: str, value: Any, region: str, where: str) -> Identifier | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return Identifier.parse(type_, value, region)
    except InvalidIdentifier as exc:
        raise InvalidEvent(f"{where}: {exc}") from None


def _identifiers(
    msg: Mapping[str, Any], type_: str, context: Mapping[str, Any], region: str, loc: Loc
) -> list[Identifier]:
    found: list[Identifier | None] = [
        _ident(USER_ID, msg.get("userId"), region, loc("userId")),
        _ident(ANONYMOUS_ID, msg.get("anonymousId"), region, loc("anonymousId")),
    ]
    if type_ == "alias":
        previous = _ident(ANONYMOUS_ID, msg.get("previousId"), region, loc("previousId"))
        if previous is None or found[0] is None:
            missing = "previousId" if previous is None else "userId"
            raise InvalidEvent(f"{loc(missing)}: is required for alias")
        found.append(previous)
    elif found[0] is None and found[1] is None:
        raise InvalidEvent(f"{loc('userId')}: userId or anonymousId is required")
    # Group traits describe the group (its email is the company's), so only identify traits.
    sources = [("context.traits", _object(context, "traits", lambda n: loc(f"context.{n}")))]
    if type_ == "identify":
        sources.insert(0, ("traits", _object(msg, "traits", loc)))
    for prefix, traits in sources:
        for field, id_type in (("email", EMAIL), ("phone", PHONE)):
            found.append(_ident(id_type, traits.get(field), region, loc(f"{prefix}.{field}")))
    unique: dict[tuple[str, str], Identifier] = {}
    for ident in found:
        if ident is not None:
            unique.setdefault((ident.type, ident.value), ident)
    return list(unique.values())


def _summary(msg: Mapping[str, Any], type_: str, context: Mapping[str, Any], loc: Loc) -> str:
    if type_ == "track":
        return f"Tracked: {_text(msg, 'event', loc, required=True)}"
    if type_ == "identify":
        return "Identified"
    if type_ == "alias":
        return "Linked an earlier id to this user"
    if type_ == "group":
        group_id = msg.get("groupId")
        if group_id is None or isinstance(group_id, bool) or not isinstance(group_id, str | int):
            raise InvalidEvent(f"{loc('groupId')}: is required and must be a string")
        name = _object(msg, "traits", loc).get("name")
        return f"Joined group: {name if isinstance(name, str) and name.strip() else group_id}"
    name = _text(msg, "name", loc)
    _text(msg, "category", loc)
    properties = _object(msg, "properties", loc)
    page = _object(context, "page", lambda n: loc(f"context.{n}"))
    titles = (properties.get("title"), page.get("title"))
    title = next((t for t in titles if isinstance(t, str) and t.strip()), None)
    what = "page" if type_ == "page" else "screen"
    label = name or title
    return f"Viewed {what}: {label}" if label else f"Viewed a {what}"


def _attributes(
    msg: Mapping[str, Any], type_: str, context: Mapping[str, Any], loc: Loc
) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if type_ == "track":
        attrs["event"] = msg["event"]
    if type_ in ("track", "page", "screen"):
        attrs["properties"] = dict(_object(msg, "properties", loc))
    if type_ in ("page", "screen"):
        attrs["name"] = _text(msg, "name", loc)
        attrs["category"] = _text(msg, "category", loc)
    if type_ == "page":
        page = _object(context, "page", lambda n: loc(f"context.{n}"))
        for key in _PAGE_KEPT:
            value = attrs["properties"].get(key, page.get(key))
            if _filled(value):
                attrs[key] = value
    if type_ in ("identify", "group"):
        traits = dict(_object(msg, "traits", loc))
        if type_ == "identify":
            # RudderStack's JavaScript SDK sends an identify's traits in `context.traits`.
            context_traits = _object(context, "traits", lambda n: loc(f"context.{n}"))
            traits = {**context_traits, **traits}
            # Segment's spec traits (`name`, `firstName`, `lastName`) as the name traits
            # every adapter writes; keys the message set itself are kept as they are.
            names = name_traits(
                traits.get("name"),
                traits.get("firstName", traits.get("first_name")),
                traits.get("lastName", traits.get("last_name")),
            )
            traits = {**names, **traits}
        if traits:
            attrs["traits"] = traits
    if type_ == "group":
        attrs["group_id"] = str(msg["groupId"])
    kept = {k: context[k] for k in _CONTEXT_KEPT if _filled(context.get(k))}
    if kept:
        attrs["context"] = kept
    return {k: v for k, v in attrs.items() if _filled(v)}


def _filled(value: Any) -> bool:
    return value is not None and value != "" and value != {}
