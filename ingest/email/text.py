"""Plain-text excerpts of mail bodies: HTML to text, quoted replies and signatures cut."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

EXCERPT_CHARS: Final = 300
#: Only this much of a body is looked at: the excerpt comes from the top of the message.
SCAN_CHARS: Final = 64 * 1024

_BLOCK_TAGS: Final = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_SKIPPED_TAGS: Final = frozenset({"script", "style", "head", "title", "blockquote", "template"})
#: Where the quoted original starts: Gmail/Apple "On <date>, <name> wrote:" (possibly wrapped
#: onto two lines), Outlook's "-----Original Message-----" and its underscore rule, and the
#: "-- " signature delimiter of RFC 3676.
_CUT_AT: Final = re.compile(
    r"^(?:On\s[^\n]{0,300}(?:\n[^\n]{0,200})?\swrote:[ \t]*$"
    r"|-{2,}\s*Original Message\s*-{2,}"
    r"|_{20,}[ \t]*$"
    r"|-- ?$)",
    re.MULTILINE | re.IGNORECASE,
)


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML body, skipping scripts, styles and blockquotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._divs = 0
        self._quote_div: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "div":
            self._divs += 1
            classes = next((v or "" for k, v in attrs if k == "class"), "")
            if self._quote_div is None and "gmail_quote" in classes.split():
                self._quote_div = self._divs

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "div" and self._divs:
            if self._quote_div == self._divs:
                self._quote_div = None
            self._divs -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and self._quote_div is None:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of `html` (the stdlib parser is lenient: broken markup is fine)."""
    parser = _HtmlText()
    parser.feed(html[:SCAN_CHARS])
    parser.close()
    return "".join(parser.parts)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The new part of a message body: quoted lines and the quoted original dropped, one line."""
    text = text[:SCAN_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    cut = _CUT_AT.search(text)
    if cut is not None:
        text = text[: cut.start()]
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    flat = " ".join(" ".join(lines).split())
    if len(flat) <= limit:
        return flat
    clipped = flat[: limit - 1]
    space = clipped.rfind(" ")
    if space > limit * 2 // 3:
        clipped = clipped[:space]
    return clipped.rstrip() + "…"
