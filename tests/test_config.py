import time
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.config import MAX_CONCURRENCY, ConfigError, load_config, parse_config

REPO_CONFIG = Path(__file__).parent.parent / "feeds.yaml"

VALID = """\
site:
  title: "T"
  link: "https://www.aopnews.com/"
defaults:
  timeout: 20
sources:
  - name: "AOP News"
    url: "https://www.aopnews.com/feed/"
    own: true
  - name: "Khaama Press"
    url: "https://www.khaama.com/feed/"
"""


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feeds.yaml")
    return caught.value


def test_repo_feeds_yaml_has_every_known_source():
    config = load_config(REPO_CONFIG)
    names = [s.name for s in config.sources]
    assert len(names) == 22
    assert {"AOP News", "TOLOnews Dari", "BBC Pashto", "VOA Dari", "Zan Times"} <= set(names)
    own = [s for s in config.sources if s.own]
    assert [s.name for s in own] == ["AOP News"]
    assert all(s.homepage and s.category and s.language for s in config.sources)
    assert {s.language for s in config.sources} == {"en", "fa", "ps"}
    assert config.site.timezone == "Asia/Kabul"


def test_valid_config_and_defaults():
    config = parse_config(VALID)
    assert config.defaults.refresh == 60
    assert config.site.feed_items == 200
    assert config.source("AOP News").own is True
    assert config.dedupe.window_hours == 72 and config.dedupe.title_threshold == 0.6


def test_sources_are_found_by_name_with_their_lines():
    config = parse_config(VALID)
    assert config.source("Khaama Press").url == "https://www.khaama.com/feed/"
    assert (config.line_of("AOP News", "url"), config.line_of("Khaama Press", "url")) == (8, 11)
    assert config.line_of("Nobody", "url") is None
    with pytest.raises(KeyError, match="no source named 'Nobody'"):
        config.source("Nobody")
    fewer = config.model_copy(update={"sources": config.sources[1:]})  # its own map of names
    assert fewer.source("Khaama Press") is fewer.sources[0]
    with pytest.raises(KeyError, match="no source named 'AOP News'"):
        fewer.source("AOP News")
    assert config.source("AOP News") is config.sources[0]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            VALID.replace("    own: true", "    onw: true"),
            "9:5",
            "unknown key 'onw' in sources[0]; did you mean 'own'?",
        ),
        (
            VALID.replace("timeout: 20", "timeout: soon"),
            "5:12",
            "defaults.timeout: should be a number, not 'soon'",
        ),
        (
            VALID.replace('    url: "https://www.khaama.com/feed/"\n', ""),
            "10:5",
            "missing required key 'sources[1].url'",
        ),
        (
            VALID.replace("https://www.khaama.com/feed/", "ftp://khaama.com/feed"),
            "11:10",
            "must be an http or https URL",
        ),
        (
            VALID.replace("https://www.khaama.com/feed/", "feed://khaama.com/feed"),
            "11:10",
            "(a subscribe button's link: write 'http://khaama.com/feed')",
        ),
        (  # "News" by default for AOP News: two groups, one file, category/news.xml
            VALID + '    category: "news"\n',
            "12:15",
            "category 'news' is spelt apart from 'News' only by case or punctuation",
        ),
        (
            VALID.replace('"Khaama Press"', '"Khaama\\x01Press"'),
            "10:11",
            "sources[1].name: must be one line of text, without U+0001 (at 7)",
        ),
        (
            VALID.replace("https://www.khaama.com/feed/", "https://www.khaama.com:99999/feed/"),
            "11:10",
            "is not a URL that can be fetched (Port out of range 0-65535)",
        ),
        (
            VALID.replace('"Khaama Press"', '"AOP News"'),
            "10:11",
            "duplicate source name 'AOP News'",
        ),
        (
            VALID.replace("defaults:\n  timeout: 20", "defaults:\n  timeout: 20\n  timeout: 30"),
            "6:3",
            "duplicate key 'timeout'",
        ),
        (VALID.replace("  timeout: 20", "  timeout: [20"), "6:8", "YAML syntax"),
        (VALID + "    include: ['/(unclosed/']\n", "12:15", "invalid regular expression"),
        (VALID.replace("site:", "sites:"), "1:1", "unknown key 'sites'; did you mean 'site'?"),
        (
            VALID + "    refresh: 5\n",
            "12:14",
            "sources[1].refresh: should be at least 30, not 5",
        ),
        (
            VALID + "    refresh: 1000000000000000000000000\n",
            "12:14",
            "should be at most 10080, not 1000000000000000000000000",
        ),
        (  # past what zlib takes as a length: every gzip source failed with OverflowError
            VALID.replace("  timeout: 20", "  timeout: 20\n  max_bytes: 100000000000000000000"),
            "6:14",
            "defaults.max_bytes: should be at most 1073741824, not 100000000000000000000",
        ),
        (
            VALID + "retention:\n  content_days: 90\n  identity_days: 30\n",
            "14:18",
            "retention.identity_days: must be at least content_days (90)",
        ),
        ("- just\n- a list\n", "1:1", "top level must be a mapping"),
        (VALID + "dedupe:\n  window_hour: 48\n", "13:3", "unknown key 'window_hour' in dedupe"),
        (
            VALID + "dedupe:\n  title_threshold: 1.5\n",
            "13:20",
            "dedupe.title_threshold: should be at most 1, not 1.5",
        ),
        ("", "1", "the file is empty"),
        (
            "sources: foo\n",
            "1:10",
            "sources: should be a list (each item on a line of its own, after '- '), not 'foo'",
        ),
        (
            "sources:\n  - just a name\n",
            "2:5",
            "sources[0]: should be keys and values (key: value), one a line, not 'just a name'",
        ),
        (
            VALID + "    own: maybe\n",
            "12:10",
            "sources[1].own: should be true or false, not 'maybe'",
        ),
        (
            VALID + "    max_items: 2.5\n",
            "12:16",
            "sources[1].max_items: should be a whole number, not 2.5",
        ),
        (
            VALID + "    include: {kabul: 1}\n",
            "12:14",
            "sources[1].include: should be a list (each item on a line of its own, after '- '), "
            "not keys and values",
        ),
        (VALID.replace('"Khaama Press"', '""'), "10:11", "sources[1].name: should not be empty"),
        (
            VALID.replace('"Khaama Press"', "true"),
            "10:11",
            "sources[1].name: should be text, not true",
        ),
        (
            VALID + "    refresh: .inf\n",
            "12:14",
            "sources[1].refresh: should be a finite number, not inf",
        ),
        (
            VALID + "    refresh: 2026-01-01\n",
            "12:14",
            "sources[1].refresh: should be a whole number, not 2026-01-01",
        ),
        (
            VALID.replace('  - name: "Khaama', '\t- name: "Khaama'),
            "10:1",
            "YAML syntax: a tab, which YAML does not read there: indent and separate with spaces",
        ),
        (
            VALID.replace('url: "https://www.khaama', 'url:\t"https://www.khaama'),
            "11:9",
            "YAML syntax: a tab, which YAML does not read there",
        ),
        (
            VALID.replace("Khaama Press", "Khaama\x00Press"),
            "10:18",
            "U+0000, a control character that a YAML file cannot hold",
        ),
        (VALID + "    timezone: Asia/Kabul\n", "10:5", "timezone is for type: html sources"),
        (VALID + "    user_agent: مرورگر\n", "12:17", "user_agent: must be printable ASCII"),
        (
            VALID + "    type: html\n    selectors: {item: a, title: a, link: a}\n"
            "    timezone: Asia/Kabol\n",
            "14:15",
            "unknown time zone 'Asia/Kabol'; did you mean 'Asia/Kabul'?",
        ),
    ],
)
def test_errors_name_file_line_column_and_key(text, where, message):
    error = error_of(text)
    assert error.line == int(where.split(":")[0]), str(error)
    assert message in error.message
    assert str(error).startswith(f"feeds.yaml:{where}: ")


def test_yaml_merge_keys_share_a_sources_settings():
    """`<<: *anchor`, YAML's way to share keys, is read as YAML 1.1 readers read it: the keys
    written beside it win, the first merged mapping's keys before the next one's."""
    config = parse_config(
        VALID
        + "  - &afghan\n    name: A\n    url: https://a.example/feed\n"
        + "    category: Afghanistan\n    language: fa\n"
        + "  - <<: *afghan\n    name: B\n    url: https://b.example/feed\n"
        + "  - <<: [{category: World, refresh: 90}, *afghan]\n    url: https://c.example/feed\n"
        + "    name: C\n    language: ps\n"
    )
    found = {s.name: (s.url, s.category, s.language, s.refresh) for s in config.sources}
    assert found["B"] == ("https://b.example/feed", "Afghanistan", "fa", None)
    assert found["C"] == ("https://c.example/feed", "World", "ps", 90)
    error = error_of(VALID + "  - <<: 5\n    name: D\n    url: https://d.example/feed\n")
    assert str(error).startswith("feeds.yaml:12:5: ")
    assert "a YAML merge (<<) takes keys and values" in error.message


def test_unknown_time_zone():
    error = error_of(
        VALID.replace(
            '  link: "https://www.aopnews.com/"',
            '  link: "https://www.aopnews.com/"\n  timezone: Mars/Olympus',
        )
    )
    assert error.line == 4 and "unknown time zone" in error.message


def test_cli_exits_2_with_file_and_line(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(VALID.replace("    own: true", "    onw: true"))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"{config}:9:5: unknown key 'onw' in sources[0]; did you mean 'own'?"
    assert not (tmp_path / "output").exists()
    assert not (tmp_path / "aggregator.db").exists()


def test_cli_missing_file_exits_2_and_says_where_it_looked(tmp_path, capsys):
    assert main(["check", "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"nope.yaml: not found in {tmp_path}: give --config PATH" in err


@pytest.mark.parametrize(
    ("encoding", "where"),
    [("latin-1", "10:18"), ("cp1256", "10:15"), ("utf-16", "1:1"), ("utf-32", "1:1")],
)
def test_a_file_not_in_utf8_is_an_error_at_its_first_foreign_byte(tmp_path, encoding, where):
    config = tmp_path / "feeds.yaml"
    text = VALID.replace("    own: true", "    own: true\n    category: Café Kabul")
    if encoding == "cp1256":
        text = VALID.replace("    own: true", "    own: true\n    category: اخبار")
    config.write_bytes(text.encode(encoding))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    line, column = map(int, where.split(":"))
    assert (caught.value.line, caught.value.problems[0].column) == (line, column)
    assert "save" in caught.value.message and "UTF-8" in caught.value.message


def test_a_folder_or_a_utf8_bom_is_read_as_an_editor_means(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    config = tmp_path / "feeds.yaml"
    config.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_config(config).sources[0].own


def test_check_ok(capsys):
    assert main(["check", "--config", str(REPO_CONFIG)]) == 0
    assert "OK, 22 sources" in capsys.readouterr().out


ALIAS_BOMB = """\
sources:
  - name: A
    url: https://example.af/feed
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (ALIAS_BOMB, 9, "YAML aliases expand to more than"),
        ("sources: &s\n  - name: A\n    url: https://example.af/\n    include: *s\n", 4,
         "alias refers to the value that contains it"),
        ("x: &x [*x]\nsources: []\n", 1, "alias refers to the value that contains it"),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", 1, "nested more than 50 levels deep"),
        ("sources: []\nx: " + "[" * 80 + "]" * 80 + "\n", 2, "nested more than 50 levels deep"),
    ],
)  # fmt: skip
def test_hostile_yaml_is_a_located_error_within_a_second(tmp_path, capsys, text, line, message):
    config = tmp_path / "feeds.yaml"
    config.write_text(text, encoding="utf-8")
    started = time.monotonic()
    code = main(["check", "--config", str(config)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.startswith(f"{config}:{line}:")
    assert elapsed < 1.0


BROKEN = """\
site:
  title: "T"
  timezone: Asia/Kabol
  publish_at: 18:30
defaults:
  timeout: 20
sources:
  - name: "AOP News"
    url: "https://www.aopnews.com/feed/"
    homepge: "https://www.aopnews.com/"
    language: pashtu
  - name: "Khaama Press"
    url: "https://www.khaama.com/feed"
    include: ["/[unclosed/"]
  - name: "Khaama Press"
    url: "HTTPS://WWW.KHAAMA.COM/feed/"
"""


def test_check_reports_every_problem_at_once_with_line_column_and_suggestion(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(BROKEN, encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"{config}:3:13: site.timezone: unknown time zone 'Asia/Kabol'; did you mean 'Asia/Kabul'?",
        f"{config}:10:5: unknown key 'homepge' in sources[0]; did you mean 'homepage'?",
        f"{config}:11:15: sources[0].language: must be a BCP 47 language tag such as en, fa or ps, "
        "got 'pashtu'; did you mean 'ps'?",
        f"{config}:14:15: sources[1].include[0]: invalid regular expression '/[unclosed/': "
        "unterminated character set at position 0",
        f"{config}:15:11: duplicate source name 'Khaama Press' (first in sources[1])",
        f"{config}:16:10: duplicate feed URL 'HTTPS://WWW.KHAAMA.COM/feed/' (first in sources[1])",
    ]


def test_yaml_1_2_reads_clock_times_and_words_as_strings():
    config = parse_config(
        VALID.replace('  title: "T"', "  title: no\n  publish_at: 18:30\n  description: 2026")
    )
    assert config.site.publish_at == "18:30"  # YAML 1.1 read this as the number 1110
    assert config.site.title == "no"  # and this as false
    assert config.site.description == "2026"  # a number where text is wanted is that text


def test_concurrency_follows_the_number_of_hosts_unless_set():
    def config_with(hosts: int, extra: str = "") -> object:
        sources = "".join(
            f"  - name: S{n}\n    url: https://h{n % hosts}.example/feed/{n}\n" for n in range(120)
        )
        return parse_config(f"{extra}sources:\n{sources}")

    assert config_with(3).concurrency == 8  # a small desk: a few at a time
    assert config_with(30).concurrency == 60  # two per host: as many as a host takes at once
    assert config_with(40).concurrency == 80
    assert config_with(100).concurrency == MAX_CONCURRENCY == 128  # the ceiling
    assert config_with(100, "defaults:\n  concurrency: 12\n").concurrency == 12


TRICKY_YAML = [
    VALID,
    BROKEN,
    "a: 18:30\nb: no\nc: 0o14\nd: 012\ne: yes\nf: 1_000\ng: .inf\nh: ~\ni: 2026-01-01\nj: 0x1F\n",
    "k: 1:20:30\nl: +12\nm: -.5e3\nn: .NaN\no: Null\np: TRUE\nq: off\nr: 2026-01-01T10:00:00Z\n",
    "title: \"tab\\there, slash \\/ and \\u062e\\u0628\\u0631\"\nb: 'it''s'\n",
    "s: |\n  one\n   two\n\n  three\nt: >-\n  folded\n  lines\n\n  kept\nu: |+\n  keep\n\n",
    "x: [a, {b: c}, [d, e], 'f: g']\ny: {h: [1, 2], i: ~}\n",
    "? complex key\n: value\n? [a, b]\n: listed\n",
    "name: خبرهای امروز\nurl: https://example.af/فید?a=1&b=2#x\n# a comment: with colon\n",
    "a: 1\na: 2\n",
    "%YAML 1.2\n---\nsources: []\n",
    "%YAML 1.1\n---\na: no\n",
    "--- !!map\na: !!str 12\nb: !!int '7'\n",
    "a: !custom x\n",
    "a: [1, 2\n",
    "a:\tb\n",
    "\tkey: value\n",
    "\ufeffsites: []\n",
    "---\na: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
    "just a scalar\n",
    "- a\n- b\n",
    "a: 'unterminated\n",
    "a: b: c\n",
    "a: line\u2028break\n",
    "a: next\x85line\n",
    "a: \x07bell\n",
    'a: "\\x41\\N\\_\\L\\P"\n',
    "a: emoji 📰\n",
    "a: @reserved\n",
    "a: `reserved\n",
    "{a: 1, b: [2, 3], c: {d: e}}\n",
    "a:\n- 1\n- 2\nb:\n  - x\n  -  y\n",
    "a: >\n\n  leading blank\n",
    "a: -\nb: - x\n",
    "a: 1\r\nb: [x, y]\r\nc:\r\n  - d\r\n",
    "a: 1\rb: 2\r",
    "a: 📰 x\nb: [📰, خبر, c, {d: 📰}]\n- e\n",
    "- [📰, خبر, c]\n- {x: 😀😀, y: z}\n",
    "a: b\n...\n",
    "a: 'x\ty'\n",
    "a: " + "k" * 1100 + "\n" + "k" * 1100 + ": v\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_the_c_parser_reads_every_document_as_the_pure_parser_does(text):
    from aggregator.config import _load_fast, _load_pure  # the two paths of load_yaml

    fast = _load_fast(text, Path("feeds.yaml"))
    try:
        pure = _load_pure(text, Path("feeds.yaml"))
    except ConfigError:
        assert fast is None  # a document in error is left to the pure parser to explain
        return
    assert fast is None or fast == pure


def test_the_c_parser_reads_ordinary_files():
    from aggregator.config import _load_fast

    for text in (VALID, BROKEN, REPO_CONFIG.read_text(encoding="utf-8")):
        assert _load_fast(text, Path("feeds.yaml")) is not None


def test_a_sources_fetch_options_reach_its_request():
    from aggregator.pipeline import fetch_request

    config = parse_config(
        "sources:\n"
        "  - {name: A, url: 'https://a.example/feed', user_agent: 'Mozilla/5.0 (X11)',\n"
        "     accept_invalid_certificate: true, ignore_http_cache: true}\n"
        "  - {name: B, url: 'https://b.example/feed'}\n"
    )
    picky, plain = (fetch_request(source) for source in config.sources)
    assert (picky.user_agent, picky.verify) == ("Mozilla/5.0 (X11)", False)
    assert (plain.user_agent, plain.verify) == (None, True)
