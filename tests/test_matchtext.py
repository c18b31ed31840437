"""Each normalization rule used for matching (never for display)."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aggregator import matchtext
from aggregator.matchtext import (
    Boilerplate,
    canonical,
    fold,
    money_signs,
    number_value,
    stem,
    tokens,
)
from aggregator.places import places_in


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("ﻛﺎﺑﻞ", "کابل"),  # NFKC: presentation forms, then Arabic kaf -> keheh
        ("KABUL", "kabul"),  # case folding
        ("Straße", "strasse"),
        ("علي", "علی"),  # Arabic yeh -> Persian yeh
        ("مصطفى", "مصطفی"),  # alef maksura
        ("كابل", "کابل"),  # Arabic kaf
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("أفغانستان", "افغانستان"),  # alef with hamza above
        ("إيران", "ایران"),  # alef with hamza below
        ("آزادی", "ازادی"),  # alef with madda
        ("ننګرهار", "ننگرهار"),  # Pashto gaf
        ("کتابـــخانه", "کتابخانه"),  # tatweel
        ("مَدْرَسه", "مدرسه"),  # diacritics
        ("می\u200cشود", "میشود"),  # zero-width non-joiner
        ("\u200fکابل\u200e", "کابل"),  # direction marks
        ("۱۲ ١٢", "12 12"),  # Persian and Arabic-Indic digits
        ("Kabul-Kandahar: «highway»!", "kabul kandahar highway"),  # punctuation
        ("۴٫۶ and 4.6", "4.6 and 4.6"),  # decimal points kept in numbers
        ("3,000 and ۳٬۰۰۰", "3000 and 3000"),  # thousands separators dropped
        ("Taliban's", "taliban"),  # possessive
    ],
)
def test_fold(variant, plain):
    assert fold(variant) == plain


# Arabic-script letters and digits, the signs money_signs spells out, and anything else
_SCRIPT_TEXT = st.text(
    st.one_of(st.sampled_from("يىېۍئكګةۀەأإآٱؤـ٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹$€£؋ یکگ 5"), st.characters())
)


@given(_SCRIPT_TEXT)
def test_letters_and_digits_fold_in_one_pass_as_in_two(text):
    assert text.translate(matchtext._LETTERS_AND_DIGITS) == text.translate(
        matchtext.LETTERS
    ).translate(matchtext.DIGITS)


@given(_SCRIPT_TEXT)
@example("۵۰۰ ؋")
@example("$5")
@example("€5 £5")
def test_money_signs_spells_every_sign_and_leaves_other_text_alone(text):
    assert money_signs(text) == text.translate(matchtext._CURRENCY_SIGNS)


@pytest.mark.parametrize(
    ("title", "clean"),
    [
        ("UPDATE: Taliban close schools", "Taliban close schools"),
        ("Breaking news - Taliban close schools", "Taliban close schools"),
        ("Taliban close schools - TOLOnews", "Taliban close schools"),
        ("Taliban close schools | Khaama Press", "Taliban close schools"),
        ("Afghanistan International: Taliban close schools", "Taliban close schools"),
        ("UPDATE: AFP: Taliban close schools – Amu TV", "Taliban close schools"),
        ("پژواک: بازگشایی تورخم", "بازگشایی تورخم"),
        ("Kabul: blast kills 5", "Kabul: blast kills 5"),  # a dateline is not an outlet
        ("Taliban: we will not reopen schools", "Taliban: we will not reopen schools"),
        ("Taliban close schools - officials", "Taliban close schools - officials"),
    ],
)
def test_title_boilerplate(title, clean):
    assert Boilerplate(["Zan Times"]).title(title) == clean


def test_lede_boilerplate():
    strip = Boilerplate(["Zan Times"]).lede
    assert strip("Zan Times: Women protest. The post X appeared first on Zan Times.") == (
        "Women protest."
    )
    assert strip("Roads reopened. The post Roads first appeared on Khaama Press.") == (
        "Roads reopened."
    )


def test_stemming_and_synonyms():
    assert {stem(w) for w in tokens("reopens reopened")} == {"reopen"}
    assert canonical(stem("quake")) == canonical(stem("earthquake"))
    assert canonical(stem("shut")) == canonical(stem("closed"))
    assert canonical(stem("کوکنار")) == canonical(stem("تریاک"))
    assert number_value("eight") == "8" and number_value("هشت") == "8"


def test_places_in_three_languages():
    assert places_in(tokens("Flash floods in Mazar-i-Sharif and Baghlan")) == {"mazar", "baghlan"}
    assert places_in(tokens("سیلاب در ننګرهار و جلال‌آباد")) == {"nangarhar", "jalalabad"}
    assert places_in(tokens("په کندهار کې")) == {"kandahar"}
    assert places_in(tokens("Flash floods kill 12")) == frozenset()


def test_every_word_belongs_to_one_synonym_group():
    from aggregator.matchtext import SYNONYMS

    seen: dict[str, int] = {}
    for index, group in enumerate(SYNONYMS):
        for word in group:
            form = stem(fold(word).replace(" ", ""))
            assert seen.setdefault(form, index) == index, (word, SYNONYMS[seen[form]], group)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("U.S. envoy meets U.N. chief", "us envoy meets un chief"),  # not the letters u, s, n
        ("K-12 schools reopen", "k12 schools reopen"),  # a code, not the number 12
        ("COVID-19 cases", "covid19 cases"),
        ("a 20-year-old man", "a 20 year old man"),
    ],
)
def test_abbreviations_and_codes_are_words(text, folded):
    assert fold(text) == folded


def test_dari_and_pashto_function_words_are_not_numbers():
    assert number_value(fold("نه")) == fold("نه")  # "not" in Dari (also "nine")
    assert number_value(fold("ده")) == fold("ده")  # "is" in Pashto (also Dari "ten")
    assert number_value(fold("نهه")) == "9" and number_value(fold("لس")) == "10"
