"""What a body that holds no feed is, said so that an editor knows what the server sent: an
image, a PDF, an XML document of another kind, XML that does not parse, plain text (and how it
begins). Nothing of the body reaches a message unless it is printable and short."""

from __future__ import annotations

import re
import xml.sax

from aggregator.charsets import BOM_STARTS, BOMS
from aggregator.errors import one_line

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data that was still compressed after decoding"),
    (b"BZh", "bzip2 data"),
    (b"\x00\x00\x01\x00", "an icon"),
)
# the first element of an XML document, past its declaration, comments and doctype
_ROOT = re.compile(
    r"(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<([A-Za-z_][\w.:-]{0,40})", re.DOTALL | re.ASCII
)
SHOWN = 60  # characters of a body quoted in a message


def xml_problem(exc: object, body: bytes) -> str:
    """feedparser's complaint about a body, with its line and column as an editor counts them:
    expat counts columns from 0, and feedparser put a line of its own before a body without
    an XML declaration."""
    if not isinstance(exc, xml.sax.SAXParseException):
        return str(exc)
    head = body[:64].lstrip(b"".join(BOM_STARTS)).replace(b"\x00", b"")
    line = exc.getLineNumber() - (0 if head.startswith(b"<?xml") else 1)
    return f"{exc.getMessage()} at line {max(line, 1)}, column {exc.getColumnNumber() + 1}"


def _binary(sample: str) -> bool:
    """Whether decoded bytes are not text: one in ten of them a control character."""
    odd = sum(1 for c in sample if c < " " and c not in "\t\r\n")
    return odd * 10 > len(sample)


def _decoded(head: bytes) -> str:
    """The start of a body as text: in the encoding its BOM names, else UTF-8 (what is not,
    as U+FFFD)."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            text = head[len(bom) :]
            whole = text if encoding == "utf-8" else text[: len(text) // 2 * 2]  # UTF-16's pairs
            return whole.decode(encoding, errors="replace")
    return head.decode("utf-8", errors="replace")


def what_it_is(body: bytes, problem: object) -> str:
    """What a body that is no RSS, Atom or JSON Feed is, given feedparser's complaint."""
    head = body[:4096]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    text = _decoded(head)
    if _binary(text[:512]):
        return "binary data, not text"
    if not text.lstrip().startswith("<"):
        return f"text, not XML: it begins “{one_line(text.lstrip()[: SHOWN * 4], SHOWN)}”"
    if problem:
        return f"XML that does not parse ({xml_problem(problem, body)})"
    root = _ROOT.match(text)
    if root and root[1].lower() == "opml":
        return "an OPML list of feeds: add them with aggregator opml import URL"
    if root:
        return f"XML of another kind: its root is <{root[1]}>, not <rss>, <feed> or <rdf:RDF>"
    return "a document that is no RSS, Atom or JSON Feed"
