"""The benchmark's people: the synthetic people of `services.synthetic.people`."""

from services.synthetic.people import DOMAINS, FIRST, LAST, Person, mix, person, phone_for

__all__ = ["DOMAINS", "FIRST", "LAST", "Person", "mix", "person", "phone_for"]
