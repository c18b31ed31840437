"""Clean raw entries into trusted Entry values: canonical URLs, plain titles, safe HTML, dates."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import TypeVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

from aggregator import embeds
from aggregator.charsets import LONE_SURROGATE
from aggregator.languages import entry_language
from aggregator.models import DIGEST_SIZE, Entry, Media, RawEntry

# Query parameters that only say where a click came from (the lists Miniflux, Firefox and
# AdGuard strip), or which visit it was (PHP's, Java's, ASP's and ColdFusion's session ids): a
# link with them is the same article. The BBC's feeds add at_medium and
# at_campaign (AT Internet), its older ones ns_mchannel and ns_source (comScore).
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "fb_action_ids", "fb_action_types", "fb_ref", "fb_source", "fb_comment_id",
        "gclid", "dclid", "gbraid", "wbraid", "gclsrc", "srsltid", "_ga", "_gl",
        "msclkid", "yclid", "ysclid", "twclid", "igshid", "igsh", "_openstat", "gad_source",
        "mibextid", "ttclid", "li_fat_id",
        "at_medium", "at_campaign", "xtor",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
        "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
        "itm_campaign", "itm_medium", "itm_source",
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok", "sc_cid",
        "wickedid", "vero_id", "vero_conv", "rb_clickid", "oly_anon_id", "oly_enc_id",
        "_bhlid", "_branch_match_id", "_branch_referrer",
        "phpsessid", "jsessionid", "aspsessionid", "cfid", "cftoken",
    }
)  # fmt: skip
# a Java server's session in the path (`/news/12;jsessionid=A1B2`): a new one every visit, so
# an item linked so was a new link each fetch
_PATH_SESSION = re.compile(r";jsessionid=[^/;?#]*", re.IGNORECASE)
TRACKING_PREFIXES = ("utm_", "mtm_", "mc_", "hsa_")
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)  # before the web had news feeds: a broken date
EXCERPT_CHARS = 280
TITLE_CHARS = 300  # past this a title is cut (FreshRSS keeps 255): a whole article, or a megabyte
# what one entry keeps of lists a feed may make as long as it likes (a WordPress item has a few
# categories, files and links): bounded, so that one feed cannot fill the matching window
MAX_CATEGORIES = 20
CATEGORY_CHARS = 100
AUTHOR_CHARS = 200
MAX_MEDIA = 20
MAX_LINKS = 100  # outbound links, in the order of the text, for matching
MAX_URL_CHARS = 8_192  # a longer link is none: servers refuse it, and every page would carry it

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
        "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
        "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "th", "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "*": {"dir", "lang"},
}
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "form", "svg", "math"}
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TAG = re.compile(r"<[A-Za-z/!?]")
_ANY_TAG = r'(?:[^>"]|"[^"]*")*>'  # the rest of a tag as nh3 writes it: attribute values quoted
_BLOCK_TAG = re.compile(
    r"<(?:br|/?(?:p|div|li|ul|ol|dl|dd|dt|h[1-6]|tr|td|th|table|blockquote|pre|figure|"
    r"figcaption|section|article|header|footer|aside|hr))\b" + _ANY_TAG,
    re.IGNORECASE,
)
_TAG_OR_COMMENT = re.compile(r"<" + _ANY_TAG)
_HREF = re.compile(r'<a\b[^>]*\bhref="([^"]+)"', re.IGNORECASE)
_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
# what XML 1.0 cannot carry, and what it discourages and HTML forbids (C1 controls, the
# noncharacters of the first plane: a class of the others made this five times slower; the
# pages drop those, publish.digest)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
# combining marks of the generic blocks (not Arabic's harakat, not Hebrew's points) stacked past
# three on one letter: "Zalgo" text, whose marks climb over the lines above and below on a page
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_STACKED = re.compile(f"(?<=[{_MARKS}]{{3}})[{_MARKS}]+")
_NOT_XML_OR_MARK = re.compile(f"{_NOT_XML.pattern[:-1]}{_MARKS}]")


_T = TypeVar("_T")


class SkipEntry(ValueError):
    """An entry that cannot be published; the message is the reason an editor reads."""


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default port, fragment, credentials and tracking params.

    Never raises: text that is not a URL (a bad port, a broken IPv6 host) comes back trimmed.
    Applied until it no longer changes the text, so that it is idempotent on any input."""
    text = _canonical_once(url)
    if text == url:  # already canonical (most links): a second pass would change nothing
        return text
    for _ in range(3):
        again = _canonical_once(text)
        if again == text:
            break
        text = again
    return text


def _canonical_once(url: str) -> str:
    text = xml_safe(url).strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = _ascii_host((parts.hostname or "").rstrip("."))
    if ":" in host:
        host = f"[{host}]"
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair.strip() and not _is_tracking(pair.split("=", 1)[0].lower())
    ]
    path = _percent(_PATH_SESSION.sub("", parts.path), _PATH_SAFE) or "/"
    if not host and path.startswith("//"):
        path = "/" + path.lstrip("/")  # "//x" without a host would read back as host x
    query = _percent("&".join(kept), _QUERY_SAFE)
    return urlunsplit((scheme, host, path, query, "")).strip()


_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNSAFE = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%?]")
_ESCAPE = re.compile(r"%[0-9a-f]{2}|%[0-9A-F][0-9a-f]|%[0-9a-f][0-9A-F]")


def _percent(text: str, safe: str) -> str:
    """IRI to URI for a path or query: UTF-8 percent-encoding of what a URI cannot carry, a
    stray % encoded, escapes in upper case; an already encoded URL comes back unchanged."""
    if text.isascii() and "%" not in text and not _UNSAFE.search(text):
        return text
    encoded = quote(_STRAY_PERCENT.sub("%25", text), safe=safe)
    return _ESCAPE.sub(lambda m: m[0].upper(), encoded)


def _ascii_host(host: str) -> str:
    """A host name as ASCII: IDNA (punycode) for international names."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return quote(host, safe="-._~")  # not a name IDNA accepts: percent-encoded as a reg-name


def _is_tracking(name: str) -> bool:
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


_AMP_QUERY = frozenset({"amp", "amp=1", "amp=true", "outputtype=amp", "output=amp"})
_RFERL_ID = re.compile(r"\d+\.html")  # RFE/RL (Radio Azadi, Mashaal): /amp/ID.html is /a/ID.html
_AMP_CACHE = ".cdn.ampproject.org"


def link_key(url: str) -> str:
    """What every copy of one article's canonical link has in common, for matching (never
    published): https, no www., m. or amp. before the host, no AMP marker (an `amp` segment
    first or last, `?amp`, `.amp.html`, RFE/RL's `/amp/ID.html` for `/a/ID.html`, Google's AMP
    cache), no empty segment or trailing slash. Two links to one page meet here."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if host.endswith(_AMP_CACHE) and path.startswith(("c/s/", "c/")):
        inner = path.removeprefix("c/").removeprefix("s/")
        return link_key(f"https://{inner}?{query}" if query else f"https://{inner}")
    for prefix in ("www.", "m.", "amp."):
        host = host.removeprefix(prefix)
    segments = [part for part in path.split("/") if part]
    if segments and segments[-1].endswith(".amp.html"):
        segments[-1] = segments[-1].removesuffix(".amp.html") + ".html"
    if len(segments) == 2 and segments[0] == "amp" and _RFERL_ID.fullmatch(segments[1]):
        segments[0] = "a"
    if segments[-1:] == ["amp"]:
        segments.pop()
    if segments[:1] == ["amp"]:
        segments.pop(0)
    key = "https://" + "/".join([host, *segments])
    if query:
        query = "&".join(p for p in query.split("&") if p.lower() not in _AMP_QUERY)
    return f"{key}?{query}" if query else key


_CREDENTIALS = re.compile(r"(?<=://)[^/?#@\s]*@")


def without_credentials(text: str) -> str:
    """Text with the user and password of every URL in it taken out: a feed behind HTTP
    authentication is fetched with them, and never shown or published with them."""
    return _CREDENTIALS.sub("", text) if "@" in text else text


def feed_key(url: str) -> str:
    """How feeds.yaml tells two feeds apart: the canonical URL, without a trailing slash."""
    return canonical_url(url).rstrip("/")


def url_host(url: str) -> str:
    """The host a URL names, lowercased; empty for one too broken to name any (its fetch says
    why). Requests to one host share its limit of two at a time."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


# a host as RFC 3986 writes a name (no space, no "<", no percent: browsers refuse those), once
# IDNA has made an international name ASCII
_HOST = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=-]+")
# most hosts, at a glance: labels of up to 63 letters, digits, hyphens and underscores, no
# punycode, the last starting with a letter (no IPv4 address to check)
_COMMON_NAME = re.compile(r"(?:(?!xn--)[a-z0-9_-]{1,63}\.)+(?!xn--)[a-z][a-z0-9-]{0,62}")


def link_problem(url: str | None) -> str | None:
    """Why a link cannot be published (no link, not http(s), an invalid port...), or None."""
    if not url or not url.strip():
        return "no link"
    if len(url) > MAX_URL_CHARS:
        return f"link is longer than {MAX_URL_CHARS:,} characters"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError as exc:
        return "link has an invalid port" if "port" in str(exc).lower() else "link is not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "link is not http(s)"
    host = parts.hostname  # a property that parses again at each reading
    if not host:
        return "link has no host"
    if ":" in host:  # RSS 2.0 takes RFC 2396 links, which have no [IPv6] host
        return "link's host is an IPv6 address"
    if _COMMON_NAME.fullmatch(host) and len(host) <= 253:
        return None
    if not _is_name(_ascii_host(xml_safe(host).rstrip("."))):
        return "link's host is not a name"
    return None


def _is_name(host: str) -> bool:
    """Whether a host (ASCII, as IDNA makes it) is one a browser can look up: the characters
    of a name, labels of at most 63 bytes, punycode that decodes, and, when it ends in a
    number, an IPv4 address (the URL standard reads `news.af.704` as a broken one)."""
    labels = host.split(".")
    if not _HOST.fullmatch(host) or len(host) > 253 or max(map(len, labels)) > 63:
        return False
    if labels[-1].isdigit():
        return len(labels) == 4 and all(part.isdigit() and int(part) < 256 for part in labels)
    punycode = [label[4:] for label in labels if label[:4].lower() == "xn--"]
    try:
        for label in punycode:
            label.encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return True


def joined_url(base: str, reference: str) -> str | None:
    """A page's link resolved against its base, when that is an http(s) URL; None otherwise,
    a reference too broken to resolve included ('http://[::1', which urljoin raises on)."""
    try:
        url = urljoin(base, reference.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host; the only links we publish."""
    return link_problem(url) is None


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters, lone surrogates), and those
    it discourages and HTML forbids (C1 controls, U+FDD0 to U+FDEF, U+FFFE, U+FFFF)."""
    return text if _plain_ascii(text) else _NOT_XML.sub("", text)


# what `_NOT_XML` (and `_NOT_XML_OR_MARK`) finds in ASCII: its controls but tab, LF and CR
_ASCII_NOT_XML = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _plain_ascii(text: str) -> bool:
    """Whether the text is ASCII without a character `_NOT_XML` drops: found by bytes in C,
    where a regular expression's class tests a character at a time (1.5 us, not 7, for 2 KB
    of an English article; others take the expression's way)."""
    if not text.isascii():
        return False
    data = text.encode("ascii")
    return len(data.translate(None, _ASCII_NOT_XML)) == len(data)


def collapse(text: str) -> str:
    """Collapse runs of whitespace to one space, trim, drop characters XML cannot carry, and
    keep at most three combining marks on a letter (Vietnamese needs two)."""
    joined = " ".join(text.split())  # split() and regex \s agree on what is a space
    if _plain_ascii(joined) or _NOT_XML_OR_MARK.search(joined) is None:
        return joined
    kept = _STACKED.sub("", xml_safe(joined))
    return " ".join(kept.split())  # a dropped character may have left two spaces


def plain_name(text: str) -> str:
    """A name taken from a feed or an OPML file for feeds.yaml: one line, trimmed, without bidi
    controls or characters XML cannot carry (a title may hold a newline or a stray U+202E)."""
    return collapse(strip_bidi(text))


def strip_bidi(text: str) -> str:
    """Drop bidi embedding, override and isolate controls: a feed's stray U+202E can turn a
    whole line of our page around. (Marks such as U+200F stay: Persian text uses them.)"""
    return _BIDI.sub("", text)


def plain_text(sanitized: str) -> str:
    """Text of HTML that `sanitize_html` made: tags stripped, block boundaries kept as spaces,
    entities decoded, whitespace collapsed. Its output has no script or comment and quotes
    every attribute, so two regular expressions do what a second HTML parse did at 3x the cost."""
    stripped = _TAG_OR_COMMENT.sub("", _BLOCK_TAG.sub(" ", sanitized))
    return collapse(html.unescape(stripped))


def clean_title(title: str) -> str:
    """A title as plain text: markup stripped and entities decoded exactly once, and never
    decoded into something that reads as a tag (a feed that escaped `<img onerror=…>` meant
    it as text, and a reader that renders titles as HTML must not get markup from us)."""
    title = LONE_SURROGATE.sub("", title)  # parse made a feed's U+FFFD; none may reach nh3
    if _TAG.search(title):
        title = _TEXT_ONLY.clean(shallow(title))
    decoded = html.unescape(title)
    return collapse(strip_bidi(title if _TAG.search(decoded) else decoded))


MAX_DEPTH = 512  # open elements: Chromium's HTML parser nests no deeper either
_MANY_TAGS = 2_000  # below, no nesting costs nh3 a noticeable time (20 ms at most)
# elements that never nest: void, or closed by the next of their kind (<p>, <li> left open)
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
        "rb", "rt", "rp", "rtc", "thead", "tbody", "tfoot", "colgroup", "caption", "html", "head",
        "body",
    }
)  # fmt: skip
# a tag read no further than the next "<" and never again (possessive): a regular expression
# that may rescan the rest of the text from every "<" takes time quadratic in its length
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)(?:[^<>\"']|\"[^<>\"]*\"|'[^<>']*')*+>")


def shallow(fragment: str) -> str:
    """The fragment with every start tag past `MAX_DEPTH` open elements dropped, and its end
    tag. The HTML parser in nh3 takes time quadratic in the depth of nesting: 100,000 nested
    <div>s (1 MB) held it 18 s, so one feed's items could hold a worker for hours. A fragment
    with few tags is left as it is, unread."""
    if fragment.count("<") <= _MANY_TAGS:
        return fragment
    depth = 0
    dropped: Counter[str] = Counter()

    def visit(tag: re.Match[str]) -> str:
        nonlocal depth
        name = tag[2].lower()
        if name in _FLAT:
            return tag[0]
        if tag[1]:  # an end tag
            if dropped[name]:
                dropped[name] -= 1
                return ""
            depth = max(depth - 1, 0)
        elif depth >= MAX_DEPTH:
            dropped[name] += 1
            return ""
        else:
            depth += 1
        return tag[0]

    return _TAG_TOKEN.sub(visit, fragment)


def sanitize_html(fragment: str, base: str | None = None) -> str:
    """Allow-list sanitizing: no script, style, iframe, event handlers, javascript:, data: URLs.
    Relative links and pictures are made absolute against `base` (an http(s) URL), or dropped;
    a lazy-loaded picture keeps the source it waits in, and a picture left without one goes;
    an embedded player is a link to what it plays (`embeds`)."""
    if not fragment.strip():
        return ""
    fragment = shallow(fragment)
    if embeds.has_players(fragment):
        fragment = embeds.players_as_links(fragment)
    if _LAZY_HINT.search(fragment):
        fragment = _IMG_TAG.sub(_waiting_source, fragment)
    cleaned = _cleaner(base).clean(xml_safe(fragment))
    if "&#" in fragment:  # a reference may stand for a character dropped above: `&#1;`
        cleaned = xml_safe(cleaned)
    if "<img" in cleaned:
        cleaned = _IMG_WITHOUT_SRC.sub("", cleaned)
    return cleaned.strip()


# where lazy-loading scripts keep a picture while its src is a placeholder (listing's too)
LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original")
_LAZY = "(?:" + "|".join(map(re.escape, LAZY_SOURCES)) + ")"
_VALUE = r"(\"[^\"]*\"|'[^']*'|[^\s\"'>]+)"  # an attribute's value, quoted or not
_LAZY_HINT = embeds.hyphen_hint(*LAZY_SOURCES)  # any of them, as `_LAZY` finds them
_IMG_TAG = re.compile(r"<img\b[^<>]*+>", re.IGNORECASE)  # read once: see `_TAG_TOKEN`
_LAZY_SOURCE = re.compile(rf"\s{_LAZY}\s*=\s*{_VALUE}", re.IGNORECASE)
_SRC = re.compile(rf"\ssrc\s*=\s*{_VALUE}", re.IGNORECASE)
_IMG_WITHOUT_SRC = re.compile(r'<img\b(?![^>]*\ssrc=")[^>]*>')  # nh3 quotes every attribute


def _waiting_source(tag: re.Match[str]) -> str:
    """An <img> of a lazy-loading script with the picture it waits for as its src (its src is
    a data: pixel or a spinner until a script swaps them)."""
    found = _LAZY_SOURCE.search(tag[0])
    value = found[1].strip("\"'").strip() if found else ""
    if not value or value.lower().startswith("data:"):
        return tag[0]
    return '<img src="' + value.replace('"', "&quot;") + '"' + _SRC.sub("", tag[0][4:])


@functools.lru_cache(maxsize=64)
def _cleaner(base: str | None) -> nh3.Cleaner:
    """The sanitizer for one base URL, built once, and the base checked once: building it
    costs three times the cleaning of a 2 KB article, and a feed's entries mostly share their
    base. A base that is not an http(s) URL, or that nh3 refuses (a punycode label that decodes
    to nothing), gets the one without (relative links dropped), as a browser ignores it."""
    if base is not None and not is_http_url(base):
        return _cleaner(None)
    try:
        return nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags=set(DROP_WITH_CONTENT),
            attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
            url_schemes={"http", "https", "mailto"},
            url_relative=("rewrite_with_base", base) if base else "deny",
            link_rel="noopener noreferrer nofollow",
        )
    except ValueError:
        if base is None:
            raise
        return _cleaner(None)


_READ_MORE = re.compile(r"\s*\[(?:…|\.\.\.)\]\s*$")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Shorten plain text at a word boundary, marking the cut with an ellipsis (WordPress's own
    "[…]" marker becomes one too)."""
    if text.rstrip().endswith("]") and _READ_MORE.search(text):  # its search tries every place
        text = _READ_MORE.sub("", text)
        text += " …" if text.endswith((".", "!", "?")) else "…"
    return _shortened(text, limit)


def _shortened(text: str, limit: int) -> str:
    """Text cut to `limit` characters at a word boundary (within a word too long to keep),
    the cut marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:-") + "…"


def outbound_links(fragment: str, own_url: str) -> tuple[str, ...]:
    """Canonical http(s) links of sanitized HTML, without the entry's own URL, in order; the
    first `MAX_LINKS`."""
    hrefs = (html.unescape(found[1]) for found in _HREF.finditer(fragment))
    links = (canonical_url(href) for href in hrefs if is_http_url(href))
    return tuple(_first_distinct(((link, None) for link in links if link != own_url), MAX_LINKS))


def clean_media(media: tuple[Media, ...], base: str | None = None) -> tuple[Media, ...]:
    """The entry's files with http(s) URLs, made canonical, each once; the first `MAX_MEDIA`.
    A URL is resolved against `base` (feedparser leaves an RSS enclosure's relative URL as it
    is); one that is the base itself names no file: an Atom enclosure's empty href, which
    feedparser resolves to the feed."""
    own = canonical_url(base) if media and base and is_http_url(base) else None
    resolved = ((joined_url(base, m.url) if own else m.url, m) for m in media)
    usable = ((canonical_url(url), m) for url, m in resolved if url and not link_problem(url))
    files = ((url, m) for url, m in usable if url != own)
    return tuple(
        replace(item, url=url, type=(item.type or "").strip() or None)
        for url, item in _first_distinct(files, MAX_MEDIA).items()
    )


def _first_distinct(pairs: Iterable[tuple[str, _T]], count: int) -> dict[str, _T]:
    """The first `count` distinct keys of (key, value) pairs, each with its first value; the
    pairs after are not made (a feed's list may run to thousands)."""
    kept: dict[str, _T] = {}
    for key, value in pairs:
        kept.setdefault(key, value)
        if len(kept) == count:
            break
    return kept


def own_guid(raw: RawEntry) -> str | None:
    """The guid an item gives itself, as its entry keeps it; None: its entry's guid comes from
    its cleaned link (or, without one, its title and date)."""
    return raw.guid.strip() if raw.guid else None


def _stable_guid(raw: RawEntry, link: str) -> str:
    guid = own_guid(raw)
    if guid is not None:
        return guid
    if link:
        return link
    digest = hashlib.sha256(f"{raw.title}\n{raw.published}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def _date_text(raw: RawEntry) -> str | None:
    """What the feed wrote as the date, kept for `explain` when it was not usable."""
    if raw.date_text:
        return collapse(raw.date_text)[:100]
    moment = raw.published or raw.updated
    return f"{moment:%Y-%m-%d %H:%M} UTC (implausible)" if moment else None


def _plausible(moment: datetime | None) -> datetime | None:
    """A date a news item can have: none before 1995 (year 1 or 103 is a broken feed, and
    such dates overflow when shifted to a time zone)."""
    return moment if moment and moment >= EARLIEST else None


def dates(raw: RawEntry, now: datetime) -> tuple[datetime, datetime | None, datetime | None]:
    """(published, the date the entry gave, updated): its own date if plausible, else `now`;
    none more than a day ahead of `now`."""
    dated_as = _plausible(raw.published) or _plausible(raw.updated)
    published = dated_as or now
    if published > now + FUTURE_TOLERANCE:
        published = now
    updated = _plausible(raw.updated)
    if updated and updated > now + FUTURE_TOLERANCE:
        updated = None
    return published, dated_as, updated


def timely(raw: RawEntry, now: datetime) -> bool:
    """No date of the entry is more than a day ahead of `now`: its normalized form will not
    change as time passes."""
    ahead = now + FUTURE_TOLERANCE
    return not any(moment and moment > ahead for moment in (raw.published, raw.updated))


NORMALIZE_FORMAT = 11  # raise it when normalize_entry cleans the same raw entry differently
_NH3 = getattr(nh3, "__version__", "")


def digest_context(source: str, language: str | None, feed_language: str | None, rules: str) -> str:
    """What besides a raw entry shapes its cleaned form (and whether the rules keep it); the
    sanitizer's version too, so that an upgraded allow-list cleans stored items again."""
    return f"{NORMALIZE_FORMAT} {_NH3}\n{source}\n{language}\n{feed_language}\n{rules}"


def raw_digest(raw: RawEntry, context: str) -> bytes:
    """`DIGEST_SIZE` bytes that change whenever anything `normalize_entry` reads changes: an
    item seen again with the same digest cleans to what is stored already. (SHA-1 here is a
    checksum of a source's own items, not a defence: a feed can only hide its own item by it.)"""
    small = repr(
        (context, raw.guid, raw.link, raw.author, raw.categories, raw.published, raw.updated,
         raw.language, raw.media, raw.date_text, raw.base)
    )  # fmt: skip
    text = f"{len(small)}:{small}{len(raw.title)}:{raw.title}{len(raw.summary)}:{raw.summary}"
    data = (text + raw.content).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data, usedforsecurity=False).digest()[:DIGEST_SIZE]


def _categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The first `MAX_CATEGORIES` distinct categories, each cut at `CATEGORY_CHARS`."""
    cut = ((_shortened(collapse(c), CATEGORY_CHARS), None) for c in categories if c.strip())
    return tuple(_first_distinct(cut, MAX_CATEGORIES))


def normalize_entry(
    raw: RawEntry,
    source: str,
    language: str | None,
    now: datetime,
    feed_language: str | None = None,
) -> Entry | None:
    """Clean one raw entry; raise SkipEntry when it has no http(s) link to publish (its link,
    else a permalink guid, else its first file that is not a picture, else its first picture).
    `language` is the one the editor gave its source, if any (`languages.entry_language`)."""
    media = clean_media(raw.media, raw.base)
    files = sorted(media, key=attrgetter("is_image"))  # a podcast's episode, not its cover
    candidates = [raw.link, raw.guid, *(m.url for m in files)]
    link = next((c for c in candidates if c and link_problem(c) is None), None)
    if link is None:
        raise SkipEntry(link_problem(raw.link) or "no link")
    url = canonical_url(link)
    summary = sanitize_html(raw.summary, raw.base)
    content = sanitize_html(raw.content, raw.base)
    lede, title = plain_text(summary), clean_title(raw.title)
    if not (lede and title):  # the article's own text stands in: made only then, it is long
        text = plain_text(content or summary)
        lede, title = lede or text, title or excerpt(text, 80)
    title = _shortened(title or url, TITLE_CHARS)
    published, dated_as, updated = dates(raw, now)
    return Entry(
        source=source,
        guid=_stable_guid(raw, url),
        url=url,
        title=title,
        summary_html=summary,
        content_html=content,
        excerpt=excerpt(lede),
        published=published,
        updated=updated,
        language=entry_language(raw.language, feed_language, language),
        author=_shortened(collapse(strip_bidi(raw.author)), AUTHOR_CHARS) if raw.author else None,
        categories=_categories(raw.categories),
        links=outbound_links(f"{summary}\n{content}", url),
        media=media,
        dated=dated_as is not None,
        date_text=None if dated_as else _date_text(raw),
    )
