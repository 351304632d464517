"""A customer's journey as a contact centre reads it (pure): contacts, web visits, and the
matters the contacts are about.

- A *contact* is the customer reaching a person on an assisted channel (a call, an inbound
  email, a chat's customer messages; a purchase or a page view never is). A chat's messages
  within `SESSION_GAP` of each other are one contact; every call and every email is one.
- A *visit* is a web session (events within `SESSION_GAP`); a *help visit* viewed help
  content (an FAQ or support page): the customer trying to serve themselves.
- A *matter* is what the customer contacted the company about. A contact continues the open
  matter it names (the same order, ticket, email thread or chat), or, naming none that
  differs, the customer's latest matter contacted within `REPEAT_WINDOW`; otherwise it
  opens a new one. Contacts naming different orders are different matters.
- A help visit followed within `SELF_SERVICE_WINDOW` by a contact is *failed self-service*;
  the matter that contact opens starts on the web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from profile_store.insights.events import SELF_SERVICE_CHANNEL, JourneyEvent, is_business

#: Messages of one chat, or events of one web visit, this close together are one session.
SESSION_GAP: Final = timedelta(minutes=30)
#: Channels whose events group into sessions (a call or an email is a contact of its own).
SESSION_CHANNELS: Final = frozenset({"chat", SELF_SERVICE_CHANNEL})
#: A contact this soon after the matter's previous contact continues it (a repeat contact);
#: a first contact not followed within it was resolved first time.
REPEAT_WINDOW: Final = timedelta(days=7)
#: A help visit followed by a contact this soon failed to serve the customer.
SELF_SERVICE_WINDOW: Final = timedelta(hours=24)
PATH_SEPARATOR: Final = " -> "


@dataclass(slots=True)
class Session:
    """A contact (assisted channel) or a visit (web): events of one channel close together."""

    channel: str
    start: datetime
    end: datetime
    event_ids: list[str]
    refs: set[str] = field(default_factory=set)
    #: Visits only: the first help page viewed, if any.
    help_event: str | None = None

    @property
    def business_refs(self) -> set[str]:
        """Its order and ticket references."""
        return {r for r in self.refs if is_business(r)}


@dataclass(slots=True)
class Matter:
    """Contacts about one thing, in time order, and the failed help visit that opened it."""

    contacts: list[Session]
    refs: set[str]
    self_service: Session | None = None

    def until(self, at: datetime) -> list[Session]:
        """Its contacts that started by `at`."""
        return [c for c in self.contacts if c.start <= at]

    def assisted_switch(self, at: datetime | None = None) -> bool:
        """True if it moved between assisted channels (by `at`)."""
        contacts = self.contacts if at is None else self.until(at)
        return len({c.channel for c in contacts}) > 1

    def switch(self) -> str | None:
        """How it switched channel: `self_service` (from failed self-service to one assisted
        channel), `assisted` (between assisted channels), `both`, or None."""
        kinds = (self.self_service is not None, self.assisted_switch())
        return {(True, False): "self_service", (False, True): "assisted", (True, True): "both"}.get(
            kinds
        )

    def path(self) -> list[str]:
        """Its channels in order (repeats of one channel collapsed), `web` first when it came
        from failed self-service."""
        path = [SELF_SERVICE_CHANNEL] if self.self_service is not None else []
        for c in self.contacts:
            if not path or path[-1] != c.channel:
                path.append(c.channel)
        return path

    def closes_at(self) -> datetime:
        """When it counts as over: `REPEAT_WINDOW` after its last contact."""
        return self.contacts[-1].end + REPEAT_WINDOW


@dataclass(frozen=True, slots=True)
class Journey:
    """One customer's contacts, visits and matters, each in time order."""

    contacts: list[Session]
    visits: list[Session]
    matters: list[Matter]
    #: For each contact (by position): the matter it belongs to.
    matter_of: dict[int, Matter]


def sessions_of(events: Sequence[JourneyEvent]) -> tuple[list[Session], list[Session]]:
    """(contacts, visits) in time order (`events` must be ordered by time)."""
    contacts: list[Session] = []
    visits: list[Session] = []
    current: dict[str, Session] = {}
    for ev in events:
        is_contact, is_visit = ev.is_contact, ev.is_visit
        if not (is_contact or is_visit):
            continue
        refs = ev.matter_refs if is_contact else set()
        open_ = current.get(ev.channel)
        if (
            ev.channel in SESSION_CHANNELS
            and open_ is not None
            and ev.occurred_at - open_.end <= SESSION_GAP
        ):
            open_.end = ev.occurred_at
            open_.event_ids.append(ev.event_id)
            open_.refs |= refs
            if open_.help_event is None and ev.is_help:
                open_.help_event = ev.event_id
            continue
        session = Session(ev.channel, ev.occurred_at, ev.occurred_at, [ev.event_id], set(refs))
        if ev.is_help:
            session.help_event = ev.event_id
        (contacts if is_contact else visits).append(session)
        current[ev.channel] = session
    return contacts, visits


def _about(contact: Session, open_matters: Sequence[Matter]) -> Matter | None:
    """The open matter `contact` continues, if any (newest first)."""
    shared = [m for m in open_matters if contact.refs & m.refs]
    if shared:
        return shared[-1]
    mine = contact.business_refs
    for m in reversed(open_matters):
        theirs = {r for r in m.refs if is_business(r)}
        if not (mine and theirs):
            return m  # nothing says it is another matter
    return None


def failed_visit(contact: Session, visits: Sequence[Session]) -> Session | None:
    """The latest help visit that ended within `SELF_SERVICE_WINDOW` before `contact`."""
    found = None
    for v in visits:
        if v.start > contact.start:
            break
        if v.help_event is not None and contact.start - v.end <= SELF_SERVICE_WINDOW:
            found = v
    return found


def journey_of(events: Sequence[JourneyEvent]) -> Journey:
    """Sessions and matters of one customer's events (in time order)."""
    contacts, visits = sessions_of(events)
    matters: list[Matter] = []
    matter_of: dict[int, Matter] = {}
    used: set[int] = set()
    for i, c in enumerate(contacts):
        open_matters = [m for m in matters if c.start - m.contacts[-1].end <= REPEAT_WINDOW]
        matter = _about(c, open_matters)
        if matter is None:
            visit = failed_visit(c, visits)
            if visit is not None and id(visit) in used:
                visit = None  # one help visit opens one matter at most
            if visit is not None:
                used.add(id(visit))
            matter = Matter([c], set(c.refs), visit)
            matters.append(matter)
        else:
            matter.contacts.append(c)
            matter.refs |= c.refs
        matter_of[i] = matter
    return Journey(contacts, visits, matters, matter_of)


def matter_at(journey: Journey, refs: frozenset[str], at: datetime) -> Matter | None:
    """The matter an answer given at `at` is about: the latest one naming one of `refs`, else
    the latest one with a contact within `REPEAT_WINDOW` before `at`."""
    started = [m for m in journey.matters if m.contacts[0].start <= at]
    for m in reversed(started):
        if refs & m.refs:
            return m
    for m in reversed(started):
        if at - m.until(at)[-1].end <= REPEAT_WINDOW:
            return m
    return None
