"""OPML 2.0, the subscription list every feed reader speaks: the sources as outlines grouped by
category, and the feeds of an OPML file exported by another reader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from html.entities import name2codepoint
from urllib.parse import urlsplit

from lxml import etree

from aggregator.config import Config, feed_scheme_url
from aggregator.languages import language_tag
from aggregator.normalize import plain_name, without_credentials, xml_safe


class OutlineKind(Enum):
    """What an outline of another reader's file stands for; only a FEED is imported."""

    FEED = "feed"
    UNFOLLOWABLE = "unfollowable"  # its xmlUrl is no http(s) URL (ftp:, a file path...)
    PAGE = "page"  # a site's page without its feed (a blogroll's htmlUrl, type="link")
    LIST = "list"  # another OPML file (type="include", or a link to .opml)


@dataclass(frozen=True)
class Outline:
    """One feed of an OPML file, or an outline that names something else (see `kind`)."""

    title: str
    xml_url: str  # the feed's URL; for a PAGE or a LIST, the URL it names
    html_url: str | None
    language: str | None
    category: str | None  # the innermost folder it sits in
    kind: OutlineKind = OutlineKind.FEED


def opml_bytes(config: Config) -> bytes:
    """Every source as an OPML 2.0 document, one outline group per category (no date in it, so
    the file changes only when the sources do)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{config.site.title}: sources"
    body = etree.SubElement(root, "body")
    groups: dict[str, etree._Element] = {}
    for source in config.sources:
        category = xml_safe(source.category)  # feeds.yaml may hold what XML cannot
        if category not in groups:
            groups[category] = etree.SubElement(body, "outline", text=category, title=category)
        page = source.homepage
        home = {"htmlUrl": xml_safe(without_credentials(page))} if page else {}
        attributes = {
            "type": "rss",
            "text": xml_safe(source.name),
            "title": xml_safe(source.name),
            "xmlUrl": xml_safe(without_credentials(source.url)),  # feeds.opml is public
            **home,
            "language": source.language,
        }
        etree.SubElement(groups[category], "outline", attributes)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class OpmlError(Exception):
    """The file is not an OPML document we can read."""


def _http(url: str | None) -> str | None:
    """An http(s) URL as written, or the one a subscribe button's `feed://` stands for."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else feed_scheme_url(url)


_NAMED = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_NAMED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def _html_entities_as_references(data: bytes) -> bytes:
    """The file with HTML's named entities (`&nbsp;`, `&eacute;`, which some readers write into
    titles) as the numeric references XML reads; XML refused the whole file for one."""
    if b"&" not in data:
        return data

    def reference(found: re.Match[bytes]) -> bytes:
        name = found[1]
        code = None if name in _XML_NAMED else name2codepoint.get(name.decode("ascii"))
        return b"&#%d;" % code if code else found[0]

    return _NAMED.sub(reference, data)


def _first_category(value: str) -> str | None:
    """The last step of the first category of an OPML 2.0 `category` attribute (comma-separated
    paths such as `/News/Afghan`), empty pieces passed over."""
    for path in value.split(","):
        steps = [step.strip() for step in path.split("/") if step.strip()]
        if steps:
            return steps[-1]
    return None


def _named(attributes: dict[str, str], folder: bool) -> tuple[OutlineKind, str] | None:
    """What an outline that is no followable feed points to, if anything: a feed URL that is no
    http(s) URL, another OPML list, or a page (a blogroll names sites, not their feeds)."""
    written = (attributes.get("xmlurl") or "").strip()
    if written:
        return None if _http(written) else (OutlineKind.UNFOLLOWABLE, written[:200])
    kind = attributes.get("type", "").strip().lower()
    url = _http(attributes.get("url")) if kind in {"link", "include"} else None
    if url:
        listed = kind == "include" or urlsplit(url).path.lower().endswith(".opml")
        return (OutlineKind.LIST if listed else OutlineKind.PAGE), url
    page = _http(attributes.get("htmlurl"))
    return (OutlineKind.PAGE, page) if page and not folder else None


def read_opml(data: bytes) -> list[Outline]:
    """The feeds of an OPML file (any version, folders nested to any depth, extra attributes
    ignored); a file that declares entities is refused and nothing is fetched while parsing."""
    if b"<!ENTITY" in data:
        raise OpmlError("entity declarations are not read in OPML (they can expand without end)")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        root = etree.fromstring(_html_entities_as_references(data), parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root.tag != "opml" or root.find("body") is None:
        raise OpmlError("not an OPML document (no <opml><body>)")
    found: list[Outline] = []

    def walk(element: etree._Element, folder: str | None) -> None:
        for outline in element.iterfind("outline"):
            attributes = {str(key).lower(): value for key, value in outline.attrib.items()}
            title = plain_name(attributes.get("title") or attributes.get("text") or "")
            named = _named(attributes, outline.find("outline") is not None)
            if named:
                found.append(Outline(title, named[1], None, None, None, named[0]))
            xml_url = _http(attributes.get("xmlurl"))
            if xml_url:
                found.append(
                    Outline(
                        title,
                        xml_url,
                        _http(attributes.get("htmlurl")),
                        language_tag(attributes.get("language")),
                        folder or _first_category(attributes.get("category", "")),
                    )
                )
            walk(outline, title or folder)

    walk(root.find("body"), None)
    return found
