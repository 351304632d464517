"""Deterministic synthetic people: each index always gets the same identifiers and name
(the benchmark's customers and the demo's)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

FIRST: Final = (
    "maria", "james", "aiko", "noah", "fatima", "liam", "chen", "olivia", "ravi", "sofia",
    "mateo", "amara", "lucas", "yuki", "elena", "omar", "grace", "ivan", "zara", "tom",
)  # fmt: skip
LAST: Final = (
    "lopez", "okafor", "tanaka", "smith", "haddad", "murphy", "wang", "rossi", "patel", "kim",
    "silva", "mensah", "dubois", "sato", "novak", "aziz", "brown", "petrov", "khan", "berg",
)  # fmt: skip
DOMAINS: Final = ("example-mail.com", "mail.example.org", "inbox.example.net", "example.io")


def mix(seed: int, n: int, salt: int = 0) -> int:
    """A stable 64-bit pseudo-random number for (seed, n, salt): cheap and order-independent."""
    digest = hashlib.blake2b(f"{seed}:{n}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class Person:
    """One synthetic customer's identity: several identifiers, as systems know them."""

    n: int
    first: str
    last: str
    email: str
    phone_e164: str
    user_id: str
    loyalty_id: str | None
    devices: tuple[str, ...]

    @property
    def name(self) -> str:
        """Display name."""
        return f"{self.first.title()} {self.last.title()}"

    @property
    def phone_national(self) -> str:
        """The phone as a person types it in the US: `(212) 555-0134`."""
        d = self.phone_e164[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"

    @property
    def customer_id(self) -> str:
        """The customer id the bulk loader gives this person (the worker makes its own)."""
        return f"cus_{self.n:032x}"


def phone_for(n: int) -> str:
    """A unique, possible NANP number for every n below 700 million (E.164)."""
    area = 201 + (n // 1_000_000) % 700
    rest = 2_000_000 + (n % 1_000_000) * 7
    return f"+1{area}{rest:07d}"


def person(seed: int, n: int) -> Person:
    """Person number `n` of the data set made with `seed`."""
    h = mix(seed, n)
    first, last = FIRST[h % len(FIRST)], LAST[(h >> 8) % len(LAST)]
    domain = DOMAINS[(h >> 16) % len(DOMAINS)]
    devices = tuple(f"dev-{n}-{k}" for k in range(1 + (h >> 24) % 3))
    return Person(
        n=n,
        first=first,
        last=last,
        email=f"{first}.{last}.{n}@{domain}",
        phone_e164=phone_for(n),
        user_id=f"cust-{n}",
        loyalty_id=f"LOY{n:09d}" if (h >> 32) % 10 < 3 else None,
        devices=devices,
    )
