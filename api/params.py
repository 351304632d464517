"""Path and query parameter types shared by the routes."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path
from pydantic import StringConstraints

#: Any character but the control characters (C0 other than \t \n \v \f \r, DEL, C1).
_CHAR: Final = r"[^\x00-\x08\x0e-\x1f\x7f-\x9f]"
_NON_BLANK: Final = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
#: Text without control characters: NUL above all never reaches the database.
PRINTABLE: Final = f"^{_CHAR}+$"
#: Printable text with at least one character that is not white space.
NOT_BLANK: Final = f"^{_CHAR}*{_NON_BLANK}{_CHAR}*$"
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE,
        description="Any customer id; a merged-away id answers with its survivor.",
        examples=["cus_4f0c2a"],
    ),
]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
