import gzip
import zlib
from datetime import UTC, datetime, timedelta

import pytest
import requests
import trustme

from aggregator.fetch import (
    FetchError,
    FetchOptions,
    credentials_kept,
    fetch_all,
    fetch_one,
    new_session,
    read_capped,
)
from aggregator.models import FetchRequest, FetchStatus
from tests.conftest import TLS_FEED as FEED
from tests.conftest import gzip_bomb

OPTIONS = FetchOptions(user_agent="aggregator/test (+https://www.aopnews.com/)", timeout=1.0)


def fetch(url: str, **kw) -> object:
    return fetch_one(FetchRequest("Test", url, **kw), OPTIONS)


def test_ok_body_headers_and_identity(feed_server):
    url = feed_server.feed("/feed/", "aop_wordpress.xml", etag='"v1"')
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.http_status == 200
    assert result.body.startswith(b"<?xml")
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.etag == '"v1"'
    seen = feed_server.requests_to("/feed/")[0]
    assert seen.headers["user-agent"] == "aggregator/test (+https://www.aopnews.com/)"
    assert "gzip" in seen.headers["accept-encoding"]
    assert "if-none-match" not in seen.headers and "if-modified-since" not in seen.headers


def test_validators_are_echoed_exactly(feed_server):
    validators = {"etag": 'W/"5f1-abc"', "last_modified": "Sat, 28 Nov 2026 05:12:44 GMT"}
    url = feed_server.feed("/feed/", "aop_wordpress.xml", **validators)
    result = fetch(url, **validators)
    assert result.status is FetchStatus.NOT_MODIFIED
    assert result.http_status == 304
    seen = feed_server.requests_to("/feed/")[0]
    assert seen.headers["if-none-match"] == 'W/"5f1-abc"'
    assert seen.headers["if-modified-since"] == "Sat, 28 Nov 2026 05:12:44 GMT"


def test_304_keeps_or_renews_validators_and_200_without_them_drops_them(feed_server):
    url = feed_server.feed("/feed/", "aop_wordpress.xml", etag='"v2"')
    renewed = fetch(url, etag='"v2"', last_modified="Fri, 27 Nov 2026 10:00:00 GMT")
    assert (renewed.status, renewed.etag) == (FetchStatus.NOT_MODIFIED, '"v2"')
    assert renewed.last_modified == "Fri, 27 Nov 2026 10:00:00 GMT"
    feed_server.routes["/feed/"].etag = None
    fresh = fetch(url, etag='"v2"')
    assert fresh.status is FetchStatus.OK
    assert (fresh.etag, fresh.last_modified) == (None, None)


def test_status_300_without_location_is_an_error(feed_server):
    result = fetch(feed_server.add("/choices", b"pick one", status=300))
    assert result.status is FetchStatus.ERROR and result.error.startswith("HTTP 300")


def test_gzip_body_is_decoded(feed_server):
    body = gzip.compress(b"<rss/>" * 1000)
    url = feed_server.add("/gz", body, headers={"Content-Encoding": "gzip"})
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.body == b"<rss/>" * 1000


def test_chunked_gzip_body_is_decoded(feed_server):
    body = gzip.compress(b"<rss>" + b"item " * 20000 + b"</rss>")
    url = feed_server.add("/chunked", body, headers={"Content-Encoding": "gzip"}, chunked=True)
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.body == b"<rss>" + b"item " * 20000 + b"</rss>"


def test_chunked_gzip_bomb_is_cut_off(feed_server):
    url = feed_server.add(
        "/chunked-bomb", gzip_bomb(64), headers={"Content-Encoding": "gzip"}, chunked=True
    )
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "larger than 10 MB" in result.error


def test_gzip_bomb_is_cut_off(feed_server):
    bomb = gzip_bomb(64)
    assert len(bomb) < 100_000
    url = feed_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "larger than 10 MB" in result.error


def test_an_undeclared_gzip_bomb_is_cut_off(feed_server):
    url = feed_server.add("/bomb", gzip.compress(gzip_bomb(64)))
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "larger than 10 MB" in result.error


def test_read_capped_never_inflates_past_the_cap():
    compressed = zlib.compress(b"a" * 5_000_000)
    with pytest.raises(FetchError):
        read_capped([compressed], "deflate", max_bytes=1000, deadline=float("inf"))
    assert read_capped([compressed], "deflate", 5_000_000, float("inf")) == b"a" * 5_000_000


def test_plain_body_over_cap(feed_server):
    url = feed_server.add("/big", b"x" * 5000)
    small = FetchOptions(user_agent="t", timeout=1.0, max_bytes=4096)
    result = fetch_one(FetchRequest("Big", url), small)
    assert result.status is FetchStatus.ERROR
    assert "larger than" in result.error


def test_redirect_is_followed_to_final_url(feed_server):
    target = feed_server.feed("/new-feed/", "aop_wordpress.xml")
    url = feed_server.redirect("/old-feed/", "/new-feed/", status=301)
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert result.final_url == target


def test_each_request_carries_the_sessions_headers_and_the_cookies_a_redirect_set(feed_server):
    """A site that sets a cookie on its redirect and expects it back at the target (a cookie
    check before the feed) gets it; every hop identifies the aggregator."""
    feed_server.feed("/checked/", "aop_wordpress.xml")
    url = feed_server.add(
        "/check", status=302, headers={"Location": "/checked/", "Set-Cookie": "seen=1; Path=/"}
    )
    assert fetch(url).status is FetchStatus.OK
    first, target = feed_server.requests_to("/check")[0], feed_server.requests_to("/checked/")[0]
    assert "cookie" not in first.headers and target.headers["cookie"] == "seen=1"
    for seen in (first, target):
        assert seen.headers["user-agent"] == "aggregator/test (+https://www.aopnews.com/)"
        assert seen.headers["accept"].startswith("application/rss+xml")


def test_a_request_with_more_than_a_fetch_sends_is_made_as_requests_makes_it(feed_server):
    feed_server.add("/listing?page=2", b"<rss/>")
    session = new_session(OPTIONS)
    with session.get(feed_server.url("/listing"), params={"page": 2}, timeout=2) as response:
        assert response.status_code == 200 and response.content == b"<rss/>"
    assert feed_server.log[-1].headers["user-agent"] == OPTIONS.user_agent
    with session.get(feed_server.url("/listing?page=2"), headers={"User-Agent": None}) as response:
        assert response.status_code == 200  # None: the session's header is not sent
    assert feed_server.log[-1].headers["user-agent"] != OPTIONS.user_agent


def test_redirect_loop_is_an_error(feed_server):
    feed_server.redirect("/a", "/b", status=302)
    url = feed_server.redirect("/b", "/a", status=302)
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "redirect loop" in result.error


def test_too_many_redirects(feed_server):
    for i in range(7):
        feed_server.redirect(f"/r{i}", f"/r{i + 1}", status=307)
    result = fetch(feed_server.url("/r0"))
    assert result.status is FetchStatus.ERROR
    assert "too many redirects" in result.error
    assert len(feed_server.log) == 6


def test_redirect_to_other_scheme_is_refused(feed_server):
    url = feed_server.redirect("/evil", "file:///etc/passwd", status=302)
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "only http and https" in result.error


def test_non_http_url_is_refused_without_io():
    result = fetch("ftp://example.com/feed")
    assert result.status is FetchStatus.ERROR
    assert "only http and https" in result.error


def test_http_error_status(feed_server):
    result = fetch(feed_server.url("/missing"))
    assert result.status is FetchStatus.ERROR
    assert result.http_status == 404
    assert result.error == "HTTP 404 Not Found"


def test_hanging_server_times_out(feed_server):
    url = feed_server.add("/hang", b"<rss/>", hang=30)
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert result.error == "timed out after 1 s"
    assert result.elapsed < 10


def test_trickling_server_is_cut_off_by_total_deadline(feed_server):
    url = feed_server.add("/trickle", b"<rss>" + b" " * 200 + b"</rss>", trickle=0.1)
    options = FetchOptions(user_agent="t", timeout=1.0, total_timeout=1.0)
    result = fetch_one(FetchRequest("Trickle", url), options)
    assert result.status is FetchStatus.ERROR
    assert "too slowly" in result.error
    assert result.elapsed < 3


def test_proxies_from_the_environment_are_used_and_no_proxy_is_honoured(feed_server, monkeypatch):
    """The environment is read once a run, not by requests for every request: its settings
    must still apply."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxied = "http://feeds.example.invalid/feed/"  # never resolved: the proxy is asked for it
    feed_server.feed(proxied, "aop_wordpress.xml")
    monkeypatch.setenv("http_proxy", feed_server.url(""))
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    direct = feed_server.feed("/direct/", "aop_wordpress.xml")
    results = list(fetch_all([FetchRequest("A", proxied), FetchRequest("B", direct)], OPTIONS))
    assert [r.status for r in results] == [FetchStatus.OK, FetchStatus.OK]
    assert len(feed_server.requests_to(proxied)) == 1  # the absolute URL: a proxy request
    assert len(feed_server.requests_to("/direct/")) == 1  # no_proxy: asked directly


def test_fetching_runs_at_most_twice_its_threads_ahead_of_the_results_taken(feed_server):
    paths = [f"/ahead/{n}" for n in range(40)]
    urls = [feed_server.feed(path, "aop_wordpress.xml") for path in paths]
    options = FetchOptions(user_agent="t", timeout=2.0, concurrency=3)
    results = fetch_all([FetchRequest(f"S{n}", url) for n, url in enumerate(urls)], options)
    assert next(results).status is FetchStatus.OK
    results.close()  # returns once the pool has done what it was handed
    assert sum(len(feed_server.requests_to(path)) for path in paths) <= 2 * 3 + 1


def test_threads_do_not_queue_behind_one_hosts_limit(feed_server):
    """Six slow feeds of one host listed first, then two of another: with 3 threads and 2
    requests a host, the other host's feeds go out while the first host's wait their turn."""
    slow = [feed_server.feed(f"/slow/{n}", "aop_wordpress.xml", hang=0.5) for n in range(6)]
    other = [
        feed_server.feed(f"/other/{n}", "aop_wordpress.xml").replace("127.0.0.1", "localhost")
        for n in range(2)
    ]
    options = FetchOptions(user_agent="t", timeout=5.0, concurrency=3)
    requests_ = [FetchRequest(f"S{n}", url) for n, url in enumerate(slow + other)]
    assert all(r.status is FetchStatus.OK for r in fetch_all(requests_, options))
    order = [seen.path for seen in feed_server.log]
    assert order.index("/other/0") < 3 and order.index("/other/1") < 5


@pytest.mark.parametrize("etag", [None, '"kept"'], ids=["200", "304"])
def test_the_threads_share_a_hosts_connections(feed_server, etag):
    """One pool a host for all the threads: a connection the server keeps open serves the
    next request to that host, whichever thread makes it, so no more connections are opened
    than requests go to the host at once; after a 304 as after a body read to its end."""
    urls = [feed_server.feed(f"/kept/{n}", "aop_wordpress.xml", etag=etag) for n in range(12)]
    options = FetchOptions(user_agent="t", timeout=5.0, concurrency=6, per_host=2)
    asked = [FetchRequest(f"S{n}", url, etag=etag) for n, url in enumerate(urls)]
    expected = FetchStatus.NOT_MODIFIED if etag else FetchStatus.OK
    assert all(r.status is expected for r in fetch_all(asked, options))
    assert len(feed_server.log) == 12
    assert len({seen.port for seen in feed_server.log}) <= 2


@pytest.mark.parametrize(
    "route",
    [
        {"body": b"x" * 10_000, "chunked": True, "endless": True},
        {"headers": {"Transfer-Encoding": "chunked"}},  # announced, never sent
    ],
    ids=["endless", "never-sent"],
)
def test_a_304_with_a_body_is_not_read(feed_server, route):
    """A 304 has no body; one that streams chunks regardless, or announces chunks it never
    sends, is closed unread: reading it would hold the fetch to its deadline (and the body in
    memory), and its broken body is no failure of the feed."""
    url = feed_server.add("/bodied-304", status=304, **route)
    result = fetch(url, etag='"any"')
    assert result.status is FetchStatus.NOT_MODIFIED
    assert result.etag == '"any"'


def test_a_url_too_broken_to_name_a_host_fails_alone(feed_server):
    good = feed_server.feed("/good/", "aop_wordpress.xml")
    broken = ["http://[::1/feed", "http://%zz/", "http://example.com:99999/"]
    requests_ = [FetchRequest(url, url) for url in [*broken, good]]
    results = {r.request.source: r for r in fetch_all(requests_, OPTIONS)}
    assert results[good].status is FetchStatus.OK
    assert all(results[url].status is FetchStatus.ERROR and results[url].error for url in broken)


def test_refused_connection(feed_server):
    feed_server.stop()
    result = fetch(feed_server.url("/feed/"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "connection refused"


def test_fetch_all_returns_every_request(feed_server):
    urls = [feed_server.feed(f"/f{i}", "aop_wordpress.xml") for i in range(6)]
    urls.append(feed_server.url("/missing"))
    results = list(fetch_all([FetchRequest(str(i), u) for i, u in enumerate(urls)], OPTIONS))
    assert sorted(r.request.source for r in results) == [str(i) for i in range(7)]
    assert sum(r.status is FetchStatus.OK for r in results) == 6


def test_fetch_all_calls_idle_before_it_waits(feed_server):
    fast = feed_server.feed("/fast", "aop_wordpress.xml")
    slow = feed_server.add("/slow", b"<rss/>", hang=60)  # answers once released
    calls: list[int] = []
    taken: list[str] = []

    def idle() -> None:
        calls.append(len(taken))
        if taken:  # the fast one is in: let the slow one answer
            feed_server.release.set()

    requests_ = [FetchRequest("fast", fast), FetchRequest("slow", slow)]
    for result in fetch_all(requests_, OPTIONS, idle=idle):
        taken.append(result.request.source)
    assert taken == ["fast", "slow"]  # the slow one could only answer after `idle` ran
    assert calls[-1] == 1  # called while waiting for it, with the fast one taken


def test_fetch_all_does_not_call_idle_while_results_keep_coming(feed_server):
    """A result due within `IDLE_AFTER` is waited for without calling `idle`: a run's store
    commits every hundred sources, not after most of them."""
    urls = [feed_server.feed(f"/quick/{n}", "aop_wordpress.xml") for n in range(24)]
    calls: list[int] = []
    options = FetchOptions(user_agent="t", timeout=5.0, concurrency=3)
    requests_ = [FetchRequest(f"S{n}", url) for n, url in enumerate(urls)]
    results = list(fetch_all(requests_, options, idle=lambda: calls.append(1)))
    assert len(results) == 24
    assert len(calls) <= 4  # each answers in milliseconds: waits are far shorter than that


def test_connection_errors_are_described_for_editors():
    from aggregator.fetch import _describe

    dns = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='x.invalid'): NameResolutionError: Failed to resolve"
    )
    assert _describe(dns, 20) == "DNS: host not found"
    assert (
        _describe(requests.exceptions.ReadTimeout("read timed out"), 20) == "timed out after 20 s"
    )


NOW = datetime.now(UTC)
LOCAL = ("127.0.0.1", "localhost")


@pytest.mark.parametrize(
    ("make", "chain", "host", "reason"),
    [
        pytest.param(lambda ca, _: ca.issue_cert(*LOCAL), True, "127.0.0.1", None, id="good"),
        pytest.param(lambda _, im: im.issue_cert(*LOCAL), True, "127.0.0.1", None,
                     id="good-intermediate"),
        pytest.param(lambda ca, _: ca.issue_cert(*LOCAL, not_after=NOW - timedelta(days=3)),
                     True, "127.0.0.1", "TLS: the site's certificate has expired", id="expired"),
        pytest.param(lambda ca, _: ca.issue_cert(*LOCAL, not_before=NOW + timedelta(days=3)),
                     True, "127.0.0.1", "TLS: the site's certificate is not valid yet",
                     id="not-yet-valid"),
        pytest.param(lambda ca, _: ca.issue_cert("news.example.af"), True, "localhost",
                     "TLS: the site's certificate is for another host name", id="other-host"),
        pytest.param(lambda ca, _: ca.issue_cert("news.example.af"), True, "127.0.0.1",
                     "TLS: the site's certificate is for another address", id="other-address"),
        pytest.param(lambda _, im: im.issue_cert(*LOCAL), False, "127.0.0.1",
                     "TLS: the site's certificate is not signed by an authority we trust (or "
                     "the server leaves out its intermediate", id="no-intermediate"),
        pytest.param(lambda _ca, _im: trustme.CA().issue_cert(*LOCAL), True, "127.0.0.1",
                     "TLS: the site's certificate is not signed by an authority we trust",
                     id="unknown-authority"),
    ],
)  # fmt: skip
def test_a_certificate_refused_says_why(tls_feed, make, chain, host, reason):
    """'TLS certificate error' was all an editor learnt, whether the certificate had expired,
    was another site's, or the server left out its intermediate (which browsers forgive)."""
    result = fetch(tls_feed(make, chain, host))
    if reason is None:
        assert result.status is FetchStatus.OK and result.body == FEED
    else:
        assert result.status is FetchStatus.ERROR
        assert result.error.startswith(reason)
        assert not result.unreachable  # a server answered


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_certificate_the_editor_accepts_is_read_unverified(tls_feed):
    expired = tls_feed(lambda ca, _: ca.issue_cert(*LOCAL, not_after=NOW - timedelta(days=3)))
    assert fetch(expired).error.startswith("TLS: the site's certificate has expired")
    result = fetch_one(FetchRequest("Test", expired, verify=False), OPTIONS)
    assert (result.status, result.body) == (FetchStatus.OK, FEED)
    self_signed = tls_feed(lambda _ca, _im: trustme.CA().issue_cert(*LOCAL))
    assert fetch(self_signed).status is FetchStatus.ERROR
    assert fetch_one(FetchRequest("Test", self_signed, verify=False), OPTIONS).body == FEED


def test_an_https_url_to_a_server_that_speaks_http_says_so(feed_server):
    url = feed_server.add("/feed", FEED).replace("http://", "https://")
    result = fetch(url)
    assert result.error == "TLS: the server did not answer in TLS (is the site http:// only?)"
    assert not result.unreachable


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"HTTP/1.1 abc OK\r\n\r\n", "did not answer in HTTP (its answer began 'HTTP/1.1 abc"),
        (FEED, "did not answer in HTTP (its answer began '<?xml"),  # no status line at all
        (b"HTTP/2 200 OK\r\n\r\n" + FEED, "a version of HTTP we cannot read ('HTTP/2')"),
        (b"HTTP/1.1 301 Moved\r\nLocation: http://news..af/\r\n\r\n", "host name cannot be read"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", "too many headers"),
        (b"HTTP/1.1 200 OK\r\nX-A: " + b"b" * 70_000 + b"\r\n\r\n", "header line longer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n" + FEED, "before the body ended"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunked body"),
        (b"", "closed the connection without answering"),
        (b"HTTP/1.1 103 Early Hints\r\n\r\n" * 21, "more than 20 informational (1xx) answers"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 3\r\n\r\nabc",
            "two Content-Length values, which browsers refuse too",
        ),
    ],
)
def test_a_response_http_cannot_read_is_described_for_editors(feed_server, raw, reason):
    result = fetch(feed_server.add("/broken", raw=raw))
    assert result.status is FetchStatus.ERROR
    assert reason in result.error
    assert not result.unreachable  # a server answered: no sign that our network is down


@pytest.mark.parametrize(
    "informational",
    [b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
     b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" * 3],
)  # fmt: skip
def test_informational_answers_before_the_final_one_are_passed_over(feed_server, informational):
    """RFC 9110: a client reads any 1xx before the final answer. http.client skips 100 alone:
    a 103 Early Hints (Node's writeEarlyHints sends it over HTTP/1.1) failed the source."""
    final = b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: "v1"\r\n\r\n' % len(FEED) + FEED
    result = fetch(feed_server.add("/hints", raw=informational + final))
    assert (result.status, result.http_status, result.body, result.etag) == (
        FetchStatus.OK, 200, FEED, '"v1"'
    )  # fmt: skip


def test_a_redirect_to_a_location_written_in_utf8_is_followed_as_browsers_do(feed_server):
    """http.client reads header bytes as Latin-1; a Dari slug a server wrote unescaped is
    UTF-8, and the request goes to its percent-encoded UTF-8 path."""
    feed_server.add("/%D8%AE%D8%A8%D8%B1/", FEED, headers={"Content-Type": "text/xml"})
    location = "/خبر/".encode()
    head = b"HTTP/1.1 301 Moved\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
    result = fetch(feed_server.add("/old", raw=head))
    assert (result.status, result.body) == (FetchStatus.OK, FEED)
    assert result.final_url == feed_server.url("/خبر/")


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("gzip", FEED),  # labelled gzip, sent plain
        ("deflate", FEED),  # labelled deflate, sent plain
        ("deflate", zlib.compress(FEED)),  # zlib deflate, as the RFC says
        ("deflate", _raw_deflate(FEED)),  # raw deflate without the zlib header, as IIS sends it
        ("gzip", zlib.compress(FEED)),  # zlib labelled gzip
        ("x-gzip", gzip.compress(FEED)),
        ("gzip", gzip.compress(FEED[:40]) + gzip.compress(FEED[40:])),  # two gzip members
        ("gzip", gzip.compress(FEED) + b"\0\0trailing junk"),
        ("identity", FEED),
        ("br", FEED),  # an encoding never asked for, on a plain body
        ("GZIP, ", gzip.compress(FEED)),
        ("gzip, gzip", gzip.compress(gzip.compress(FEED))),  # two codings, undone in reverse
        ("br", gzip.compress(FEED)),  # mislabelled: the gzip bytes tell
        (None, gzip.compress(FEED)),  # gzipped without a word: no feed starts with its magic
        ("identity", gzip.compress(FEED)),
        ("gzip", gzip.compress(gzip.compress(FEED))),  # a cache plugin's gzip under the server's
        ("gzip", gzip.compress(gzip.compress(gzip.compress(FEED)))),
    ],
)
def test_bodies_are_decoded_like_a_browser(feed_server, label, body):
    headers = {} if label is None else {"Content-Encoding": label}
    url = feed_server.add("/enc", body, headers=headers)
    result = fetch(url)
    assert result.status is FetchStatus.OK, result.error
    assert result.body == FEED


@pytest.mark.parametrize(
    ("label", "body", "error"),
    [
        ("gzip", b"\x1f\x8b\x08\x00garbage-after-a-gzip-magic" * 10, "corrupt gzip body"),
        ("deflate", b"\x78\x9c\xff\xff\xff\xff garbage", "corrupt zlib body"),
        ("br", b"\x8b\x02\x80binary", "unsupported Content-Encoding 'br'"),
    ],
)
def test_undecodable_bodies_are_that_sources_error(feed_server, label, body, error):
    url = feed_server.add("/enc", body, headers={"Content-Encoding": label})
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert error in result.error


def test_truncated_gzip_gives_what_it_held():
    whole = b"".join(b"<item>%d</item>" % (i * 7919 % 10007) for i in range(2000))
    body = gzip.compress(whole)[:-30]
    decoded = read_capped([body[:7], body[7:]], "gzip", 1 << 20, float("inf"))
    assert whole.startswith(decoded) and len(decoded) > len(whole) * 0.9


@pytest.mark.parametrize(
    "location",
    ["http://[::1", "http://example.com:99999/feed", "   ", "http://[bad host]/"],
)
def test_a_location_that_is_not_a_url_is_an_error(feed_server, location):
    url = feed_server.add("/moved", status=302, headers={"Location": location})
    result = fetch(url)
    assert result.status is FetchStatus.ERROR
    assert "Location" in result.error


def test_a_304_to_a_request_that_asked_nothing_is_the_servers_error(feed_server):
    """A cache that stored a 304 answers everyone with it: taken for "not modified", the source
    showed as fine and never brought an entry."""
    url = feed_server.add("/stale-cache", status=304)
    result = fetch(url)
    assert (result.status, result.http_status) == (FetchStatus.ERROR, 304)
    assert result.error.startswith("HTTP 304 Not Modified to a request that had nothing")
    for validators in ({"etag": '"v1"'}, {"last_modified": "Sat, 28 Nov 2026 05:12:44 GMT"}):
        assert fetch(url, **validators).status is FetchStatus.NOT_MODIFIED


def test_a_cookie_check_that_redirects_to_the_same_url_is_followed_with_its_cookie(feed_server):
    """Set a cookie and send the client back to the same URL: a browser, curl -L with cookies
    and requests' own redirects come back with it; it was called a redirect loop."""
    url = feed_server.add("/checked", FEED, cookie="visited=1")
    result = fetch(url)
    assert (result.status, result.body) == (FetchStatus.OK, FEED)
    assert [seen.headers.get("cookie") for seen in feed_server.log] == [None, "visited=1"]
    looping = feed_server.add("/looping", status=302, headers={"Location": "/looping"})
    assert fetch(looping).error == f"redirect loop at {looping}"


@pytest.mark.parametrize("headers", [{}, {"Location": ""}, {"Location": "  "}])
def test_a_redirect_without_a_location_says_so(feed_server, headers):
    url = feed_server.add("/moved", FEED, status=301, headers=headers)
    result = fetch(url)
    assert (result.status, result.error) == (FetchStatus.ERROR, "a redirect without a Location")


def test_trickled_headers_are_cut_off_by_the_total_deadline(feed_server):
    url = feed_server.add("/slow-headers", FEED, trickle_headers=0.05)
    options = FetchOptions(user_agent="t", timeout=1.0, total_timeout=1.0)
    result = fetch_one(FetchRequest("Trickle", url), options)
    assert result.status is FetchStatus.ERROR
    assert "total deadline exceeded" in result.error
    assert result.elapsed < 3


def test_a_redirect_from_a_public_address_into_the_local_network_is_refused():
    from aggregator.fetch import check_redirect

    dns = {
        "news.example": ["93.184.216.34"],
        "evil.example": ["127.0.0.1"],
        "cloud.example": ["169.254.169.254"],
        "lan.example": ["192.168.1.10", "93.184.216.35"],
        "mirror.example": ["2606:4700::6810:84e5"],
    }
    resolve = dns.__getitem__
    for target in ("evil.example", "cloud.example", "lan.example"):
        with pytest.raises(FetchError, match="public address to a private one"):
            check_redirect("https://news.example/feed", f"http://{target}/x", resolve)
    check_redirect("https://news.example/feed", "https://mirror.example/feed", resolve)
    # an editor's own choice of a local feed may redirect within the local network
    check_redirect("http://evil.example/feed", "http://lan.example/feed", resolve)


def test_a_local_feed_may_redirect_locally(feed_server):
    feed_server.add("/new", FEED)
    result = fetch(
        feed_server.redirect("/old", feed_server.url("/new").replace("127.0.0.1", "localhost"))
    )
    assert result.status is FetchStatus.OK and result.body == FEED


def test_a_validator_that_cannot_be_sent_back_is_not_kept(feed_server):
    url = feed_server.add("/f", FEED, headers={"ETag": '"a\x01b"', "Last-Modified": "x" * 2000})
    result = fetch(url)
    assert result.status is FetchStatus.OK
    assert (result.etag, result.last_modified) == (None, None)


def test_a_server_never_reached_is_told_from_one_that_answered_badly(feed_server):
    """What an outage of this machine's own network gives (no server reached: refused, timed
    out) is marked unreachable; a server that answered, however badly, is not."""
    assert fetch("http://127.0.0.1:9/feed").unreachable  # refused
    hanging = feed_server.add("/hang", b"<rss/>", hang=3)
    assert fetch(hanging).unreachable  # nothing within the 1 s timeout
    closing = feed_server.add("/close", raw=b"")
    failing = feed_server.add("/fail", b"down", status=503)
    for url in (closing, failing):
        result = fetch(url)
        assert result.status is FetchStatus.ERROR and not result.unreachable, result.error
    assert not fetch(feed_server.feed("/ok", "aop_wordpress.xml")).unreachable


def test_a_source_may_ask_for_its_own_user_agent_on_every_hop(feed_server):
    """A site whose firewall turns away what is not a browser: the source's User-Agent goes
    with the request and each redirect, the run's with every other source's."""
    feed_server.feed("/feed/", "aop_wordpress.xml")
    feed_server.redirect("/old", "/feed/")
    browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    request = FetchRequest("Picky", feed_server.url("/old"), user_agent=browser)
    assert fetch_one(request, OPTIONS).status is FetchStatus.OK
    assert [seen.headers["user-agent"] for seen in feed_server.log] == [browser, browser]
    assert fetch(feed_server.url("/feed/")).status is FetchStatus.OK
    assert feed_server.log[-1].headers["user-agent"] == OPTIONS.user_agent


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("http://news.example/feed/", True),  # a slash added, absolute
        ("https://news.example/feed", True),  # moved to https
        ("https://news.example:443/feed", True),
        ("http://NEWS.example/feed", True),
        ("https://news.example:8443/feed", False),  # another port
        ("http://www.news.example/feed", False),  # another host
        ("http://cdn.example/feed", False),
        ("http://other:pw@news.example/feed", False),  # a login of its own
    ],
)
def test_a_login_follows_a_redirect_only_on_its_own_site(target, kept):
    got = credentials_kept("http://desk:s3cret@news.example/feed", target)
    assert ("desk:s3cret@" in got) is kept
    assert got.replace("desk:s3cret@", "") == target
    assert credentials_kept("https://desk:pw@news.example/f", "http://news.example/f") == (
        "http://news.example/f"  # never from https down to http
    )


@pytest.mark.parametrize(
    ("login", "said"),
    [
        ("", "the feed asks for a login for 'Members': put user:password@ before the host "
             "in its url"),
        ("desk:wrong@", "the site refused the user and password in the URL for 'Members'"),
    ],
)  # fmt: skip
def test_a_feed_that_asks_for_a_login_says_how_to_give_it(feed_server, login, said):
    """A 401 was a bare 'HTTP 401 Unauthorized', or taken for a firewall's refusal."""
    challenge = {"WWW-Authenticate": 'Basic realm="Members"', "Server": "cloudflare"}
    url = feed_server.add("/members", b"no", status=401, headers=challenge)
    result = fetch_one(FetchRequest("s", url.replace("://", f"://{login}")), OPTIONS)
    assert result.error == f"HTTP 401 Unauthorized ({said})"
