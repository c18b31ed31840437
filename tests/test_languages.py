import string

import langcodes
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.languages import entry_language, is_rtl, language_tag


@pytest.mark.parametrize(
    ("value", "tag"),
    [("en_US", "en-US"), ("en-us", "en-US"), ("EN", "en"), ("fa-af", "fa-AF"),
     ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"), ("Persian", "fa"), ("", None),
     ("english language", None), ("e", None), ("en--US", None), ("1234", None),
     ("xx", None), ("fa-FA", "fa"), ("en-EN-x-aop", "en"), ("sr-latn-rs", "sr-Latn-RS"),
     ("fa-IR-u-nu-arab", "fa-IR-u-nu-arab"),
     # three letters, as some feeds write them: ISO 639-2 for a language with two, Dari's and
     # Pashto's own codes, Afghan Uzbek in its script; what the registry does not know is none
     ("per", "fa"), ("FAS", "fa"), ("pus", "ps"), ("eng", "en"), ("prs", "fa-AF"),
     ("prs-AF", "fa-AF"), ("pbt", "ps"), ("pbt-AF", "ps-AF"), ("pst", "ps"), ("uzs", "uz-Arab"),
     ("uzs-Latn", "uz-Latn"), ("ara-XQ", "ar-XQ"), ("deu-ZQ", "de"), ("haz", "haz"),
     ("xyz", None), ("und", None), ("mul", None), ("zzq-AF", None)],
)  # fmt: skip
def test_language_tags_are_bcp47(value, tag):
    assert language_tag(value) == tag


@pytest.mark.parametrize(
    ("tag", "rtl"),
    [("fa", True), ("fa-AF", True), ("ps", True), ("haz", True), ("uz-Arab-AF", True),
     ("uz", False), ("en", False), ("ps-Latn", False), ("ar-Latn", False), ("es-419", False)],
)  # fmt: skip
def test_right_to_left_by_language_or_by_the_script_a_tag_names(tag, rtl):
    assert is_rtl(tag) is rtl


SUBTAGS = st.one_of(
    st.sampled_from(
        [
            "en", "fa", "ps", "ar", "zh", "sr", "per", "fas", "prs", "pbt", "uzs", "eng", "und",
            "qaa", "x", "i", "u", "t", "419", "Latn", "Arab", "Hant", "AF", "IR", "FA", "nu",
            "arab", "ca", "posix", "oed", "valencia", "1901", "lojban", "art",
        ]
    ),
    st.text(string.ascii_letters + string.digits, min_size=1, max_size=8),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(SUBTAGS, min_size=1, max_size=6), st.sampled_from(["-", "_"]))
def test_any_tag_reads_as_a_valid_canonical_tag_or_none(subtags, separator):
    """What a feed writes reaches a page's lang: a tag the registry does not hold fails the
    HTML checker, and one read twice must read the same."""
    tag = language_tag(separator.join(subtags))
    if tag is not None:
        assert langcodes.tag_is_valid(tag)
        assert language_tag(tag) == tag


def test_entry_language_keeps_the_feeds_tag_unless_the_editor_names_another_language():
    assert entry_language(None, "en-US", "fa") == "fa"
    assert entry_language("fa-AF", "en-US", "fa") == "fa-AF"
    assert entry_language("not a tag", "per", None) == "fa"
    assert entry_language(None, None, None) == "en"


def test_the_tags_read_without_the_registry_read_as_the_registry_reads_them():
    """The common shapes are read from two tables, without loading langcodes: each must come
    out as the registry would give it, or one language reads two ways (`iw-IL` kept, while
    `iw-Hebr-IL` became `he-IL`)."""
    from aggregator.languages import _LANGUAGES, _REGIONS

    for tag in [*_LANGUAGES, *(f"fa-{region}" for region in _REGIONS)]:
        assert language_tag(tag) == langcodes.standardize_tag(tag, macro=True), tag
    assert language_tag("iw-IL") == language_tag("iw-Hebr-IL") == "he-IL"
    assert language_tag("en-BU") == "en-MM"
