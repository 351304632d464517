"""A customer needing help: the help pages first (often), then calls, chats and emails until
the matter is resolved or they give up, then perhaps a survey whose score follows the way."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from services.synthetic import native
from services.synthetic.contact_centre import COMPANY, HELP_DESK, REASONS, RESOLVES, Life, pick

#: Chance a help visit answers the question (the rest contact the company within hours).
SELF_SERVED: Final = 0.45
#: Chance a need starts on the help pages.
TRIES_SELF_SERVICE: Final = 0.62
FIRST_CHANNEL: Final = (("call_centre", 45), ("chat", 30), ("email", 25))
#: Hours to an email reply: (weight, low, high); None: not answered before the customer calls.
EMAIL_REPLY: Final = (((0.5, 4), 58), ((4, 20), 30), (None, 12))
SURVEYED: Final = 0.33
METRICS: Final = (("nps", 60), ("csat", 28), ("ces", 12))
MAX_CONTACTS: Final = 4


@dataclass
class Matter:
    """What happened so far: contacts by channel, and how it went."""

    reason: str
    queue: str
    order: str | None
    channels: list[str] = field(default_factory=list)
    self_service: bool = False
    chased_email: bool = False
    awaiting_reply: bool = False
    conversation: str | None = None
    #: When the latest contact was over.
    last_end: datetime | None = None


def serve(me: Life, at: datetime) -> None:
    """One need for help, from the help pages to the last contact and the survey."""
    rng = me.rng
    reason, needs_order, help_page, queue = _reason(rng)
    order = None
    if needs_order:
        if not me.orders or rng.random() < 0.35:
            me.buy_online(at - timedelta(days=rng.uniform(2, 8)))
        placed = [number for number, when in me.orders if when < at]
        order = placed[-1] if placed else None
    m = Matter(reason, queue, order)
    t = at
    if rng.random() < TRIES_SELF_SERVICE:
        extra = rng.sample(["/help", "/faq", "/help/contact-us"], rng.randint(0, 2))
        end = me.visit(t, [help_page, *extra])
        if rng.random() < SELF_SERVED:
            return
        m.self_service = True
        t = end + timedelta(minutes=rng.uniform(3, 240))
    channel = pick(rng, FIRST_CHANNEL)
    for attempt in range(MAX_CONTACTS):
        m.channels.append(channel)
        resolved = rng.random() < _resolves(channel, attempt, reason)
        contact = {"call_centre": _call, "chat": _chat, "email": _email}[channel]
        outcome = contact(me, m, t, resolved)
        if outcome is None:
            return  # it has not happened yet
        t, resolved = outcome
        if resolved:
            _survey(me, m, gave_up=False)
            return
        channel = _next_channel(rng, channel, m)
    _survey(me, m, gave_up=True)


def _reason(rng: random.Random) -> tuple[str, bool, str, str]:
    reasons = tuple((r, w) for r, w, *_ in REASONS)
    name = pick(rng, reasons)
    _, _, needs_order, page, queue = next(r for r in REASONS if r[0] == name)
    return name, needs_order, page, queue


def _resolves(channel: str, attempt: int, reason: str) -> float:
    return RESOLVES[channel] + 0.1 * attempt - (0.08 if reason == "billing" else 0.0)


def _next_channel(rng: random.Random, channel: str, m: Matter) -> str:
    if m.awaiting_reply:
        m.awaiting_reply = False
        return "call_centre"  # still no answer: they call
    if rng.random() < 0.55:
        return channel
    return str(pick(rng, tuple((c, w) for c, w in FIRST_CHANNEL if c != channel)))


Outcome = tuple[datetime, bool] | None  # (when the customer would come back, resolved)


def _call(me: Life, m: Matter, at: datetime, resolved: bool) -> Outcome:
    """An inbound call."""
    attrs = {"orderId": m.order} if m.order else {}
    minutes = me.rng.uniform(3, 14)
    record = native.connect_contact(me.p.phone_e164, me.mid(), at, attrs, minutes, m.queue)
    if not me.add(at, native.CONNECT, record):
        return None
    m.last_end = at + timedelta(minutes=minutes)
    return m.last_end + timedelta(hours=me.rng.uniform(4, 60)), resolved


def _chat(me: Life, m: Matter, at: datetime, resolved: bool) -> Outcome:
    """A web chat with an agent."""
    rng = me.rng
    conv = f"chat-{me.mid()}"
    m.conversation = conv
    about = f" about order {m.order}" if m.order else ""
    lines = [("customer", f"Hi, I have a question{about} ({m.reason}).", 1)]
    lines += [("agent", "Let me look into that for you.", 3)]
    lines += [("customer", "Thanks.", 5)]
    lines += [("agent", "All sorted." if resolved else "I have passed it on to a colleague.", 8)]
    times = [at, *(at + timedelta(minutes=k) for _r, _t, k in lines), at + timedelta(minutes=10)]
    stamps = [
        (role, text, native.iso(t)) for (role, text, _k), t in zip(lines, times[1:-1], strict=True)
    ]
    items = native.chat(conv, {"email": me.p.email}, native.iso(at), stamps, native.iso(times[-1]))
    for item, t in zip(items, times, strict=True):
        if not me.add(t, native.CHAT, item):
            return None
    m.last_end = at + timedelta(minutes=10)
    return m.last_end + timedelta(hours=rng.uniform(2, 48)), resolved


def _email(me: Life, m: Matter, at: datetime, resolved: bool) -> Outcome:
    """An email to the help desk, answered in hours, late or not before the customer calls."""
    rng = me.rng
    subject = f"Order {m.order}: {m.reason}" if m.order else f"Question: {m.reason}"
    mid = f"<{me.mid()}@mail.example.org>"
    body = f"Hello, I need help with {m.reason}.\n\n{me.p.first.title()}"
    mail = native.email((me.p.name, me.p.email), HELP_DESK, subject, at, mid, body)
    if not me.add(at, native.EMAIL, native.Request(native.EMAIL, native.RFC822, mail, 1)):
        return None
    m.last_end = at
    delay = pick(rng, EMAIL_REPLY)
    patience = timedelta(hours=rng.uniform(16, 40))
    answered = delay is not None and timedelta(hours=rng.uniform(*delay)) < patience
    if not answered:
        m.chased_email = m.awaiting_reply = True
        return at + patience, False  # no answer yet: the customer calls
    reply_at = at + timedelta(hours=rng.uniform(*delay))
    text = "This is now sorted." if resolved else "We are looking into it."
    reply = native.email(COMPANY, me.p.email, f"Re: {subject}", reply_at,
                         f"<{me.mid()}@example-shop.io>", text, in_reply_to=mid)  # fmt: skip
    if not me.add(reply_at, native.EMAIL, native.Request(native.EMAIL, native.RFC822, reply, 1)):
        return None
    m.last_end = reply_at
    return reply_at + timedelta(hours=rng.uniform(2, 30)), resolved


def experience(m: Matter, gave_up: bool, rng: random.Random) -> float:
    """How it felt, 0-10: one contact is good; repeating yourself, switching channel and an
    unanswered email cost points (SQM: each extra call drops top-box CSAT)."""
    if gave_up:
        return 2.5
    n = len(m.channels)
    switched = len(set(m.channels)) > 1
    x = 8.9 - (2.3 if switched else 1.9) * (n - 1) - (0.7 if m.self_service else 0.0)
    x += {"chat": 0.3, "email": -0.6}.get(m.channels[-1], 0.0)
    return x - (0.8 if m.chased_email else 0.0) + rng.gauss(0, 0.3)


def _survey(me: Life, m: Matter, gave_up: bool) -> None:
    rng = me.rng
    if rng.random() >= SURVEYED or m.last_end is None:
        return
    x = experience(m, gave_up, rng)
    metric = pick(rng, METRICS)
    if metric == "nps":
        score = max(0, min(10, round(rng.gauss(x, 1.4))))
    elif metric == "csat":
        score = max(1, min(5, round(1 + x * 0.4 + rng.gauss(0, 0.6))))
    else:
        score = max(1, min(7, round(1 + x * 0.6 + rng.gauss(0, 0.8))))
    related = {"channel": m.channels[-1]}
    if m.order:
        related["order_id"] = m.order
    if m.channels[-1] == "chat" and m.conversation:
        related["conversation_id"] = m.conversation
    at = m.last_end + timedelta(hours=rng.uniform(0.5, 6))
    answer = native.survey(me.mid(), metric, score, native.iso(at), {"email": me.p.email},
                           related, f"post-{m.channels[-1]}",
                           "Thanks." if x > 6 else "Took too long.")  # fmt: skip
    me.add(at, native.SURVEYS, answer)
