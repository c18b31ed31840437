from datetime import UTC, datetime

import pytest

from aggregator.embeds import has_players, players_as_links
from aggregator.models import RawEntry
from aggregator.normalize import normalize_entry, sanitize_html


def link(url: str, name: str) -> str:
    return f'<p><a href="{url}">▶ {name}</a></p>'


@pytest.mark.parametrize(
    ("embedded", "page", "name"),
    [
        ('<iframe width="560" src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed" '
         "allowfullscreen></iframe>", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),
        ('<IFRAME SRC="//www.youtube-nocookie.com/embed/a-b_9"></IFRAME>',
         "https://www.youtube.com/watch?v=a-b_9", "YouTube"),
        ('<iframe src="https://www.youtube.com/embed/videoseries?list=PL12_x"></iframe>',
         "https://www.youtube.com/playlist?list=PL12_x", "YouTube"),
        ('<iframe src="about:blank" data-lazy-src="https://player.vimeo.com/video/76979871?h=8">'
         "</iframe>", "https://vimeo.com/76979871", "Vimeo"),
        ("<iframe src='https://www.dailymotion.com/embed/video/x8abc'></iframe>",
         "https://www.dailymotion.com/video/x8abc", "Dailymotion"),
        ('<iframe src="https://geo.dailymotion.com/player.html?video=x8abc"></iframe>',
         "https://www.dailymotion.com/video/x8abc", "Dailymotion"),
        ('<iframe src="https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook'
         '.com%2Ftolonews%2Fvideos%2F123%2F&amp;show_text=0"></iframe>',
         "https://www.facebook.com/tolonews/videos/123/", "Facebook"),
        ('<iframe src="https://www.aparat.com/video/video/embed/videohash/AbC12/vt/frame">'
         "</iframe>", "https://www.aparat.com/v/AbC12", "Aparat"),
        ('<iframe src="https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/9">'
         "</iframe>", "https://api.soundcloud.com/tracks/9", "SoundCloud"),
        ('<video controls poster="https://tolonews.com/p.jpg"><source src="https://tolonews.com/'
         'v.mp4" type="video/mp4">Your browser cannot play it</video>',
         "https://tolonews.com/v.mp4", "tolonews.com"),
        ('<audio controls src="https://www.azadiradio.com/a.mp3"></audio>',
         "https://www.azadiradio.com/a.mp3", "azadiradio.com"),
        # Telegram's post widget is a script alone: it left nothing of the post
        ('<script async src="https://telegram.org/js/telegram-widget.js?22" '
         'data-telegram-post="tolonewsdari/12345" data-width="100%"></script>',
         "https://t.me/tolonewsdari/12345", "Telegram"),
        ('<iframe src="https://t.me/tolonews/987?embed=1"></iframe>',
         "https://t.me/tolonews/987", "Telegram"),
    ],
)  # fmt: skip
def test_a_player_becomes_a_link_to_what_it_plays(embedded, page, name):
    assert players_as_links(f"<p>Watch:</p>{embedded}<p>end</p>") == (
        f"<p>Watch:</p>{link(page, name)}<p>end</p>"
    )


@pytest.mark.parametrize(
    "embedded",
    [
        '<iframe src="https://ads.example.com/frame">ad</iframe>',  # not a player: as before
        '<iframe src="javascript:alert(1)"></iframe>',
        '<iframe src="https://www.youtube.com/embed/"></iframe>',  # no video
        '<iframe src="https://www.youtube.com/embed/a%22onmouseover=x"></iframe>',  # no id
        '<iframe src="https://www.youtube.com/watch?v=x"></iframe>',  # no embed path
        '<video src="data:video/mp4;base64,AAAA"></video>',
        "<audio controls></audio>",
        '<iframe src="https://t.me/share/url?url=x"></iframe>',  # no post
    ],
)
def test_anything_else_embedded_goes_as_sanitizing_drops_it(embedded):
    assert players_as_links(f"<p>kept</p>{embedded}") == "<p>kept</p>"


def test_a_player_left_open_is_read_to_the_end_of_the_fragment():
    opened = '<p>x</p><iframe src="https://player.vimeo.com/video/1" <p>y</p>'
    assert players_as_links(opened) == "<p>x</p>" + link("https://vimeo.com/1", "Vimeo")


def test_an_entry_keeps_its_video_as_a_safe_link_in_every_field():
    html = (
        "<p>President speaks in Kabul. Watch:</p>"
        '<figure class="wp-block-embed"><div class="wp-block-embed__wrapper"><iframe '
        'src="https://www.youtube.com/embed/abc123" onload="alert(1)"></iframe></div></figure>'
    )
    raw = RawEntry("g", "https://tolonews.com/1", "Speech", html, html)
    entry = normalize_entry(raw, "TOLOnews", "en", datetime(2026, 12, 1, tzinfo=UTC))
    video = (
        '<a href="https://www.youtube.com/watch?v=abc123" rel="noopener noreferrer nofollow">'
        "▶ YouTube</a>"
    )
    assert video in entry.content_html and video in entry.summary_html
    assert "iframe" not in entry.content_html and "onload" not in entry.content_html
    assert entry.excerpt == "President speaks in Kabul. Watch: ▶ YouTube"
    assert sanitize_html('<iframe src="https://ads.example.com/"></iframe><p>x</p>') == "<p>x</p>"


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<IFRAME SRC="https://player.vimeo.com/video/1"></IFRAME>', True),
        ('<p>a</p><Video src="https://k.af/v.mp4"></Video>', True),
        ('<AUDIO src="https://k.af/a.mp3">', True),
        ('<script DATA-Telegram-Post="tolonews/1"></script>', True),
        ("<iframes>", False),  # another element
        ("<p>video audio iframe</p>", False),
        ('<p data-telegram="a/1">telegram-post</p>', False),
        ("", False),
    ],
)
def test_players_are_found_in_any_case_and_only_players(fragment, expected):
    assert has_players(fragment) is expected
    assert ("<a href=" in sanitize_html(fragment)) is expected  # made a link whatever its case
