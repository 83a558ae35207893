"""rag.arabic: the matching keys index and query sides share (display text is never touched)."""

from __future__ import annotations

import pytest

from rag import arabic


def keys(text: str) -> list[str]:
    return arabic.analyze(text)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("أحمد", "احمد"),
        ("إبراهيم", "ابراهيم"),
        ("آمال", "امال"),
        ("مستشفى", "مستشفي"),  # alef maqsura / ya
        ("مدرسة", "مدرسه"),  # ta marbuta / ha
        ("مسؤول", "مسئول"),  # hamza on waw / on ya
        ("شؤون", "شئون"),
        ("مُحَمَّدٌ", "محمد"),  # diacritics
        ("طرابـــلس", "طرابلس"),  # tatweel
        ("٢٠١٧", "2017"),  # Arabic-Indic digits
        ("۲۰۱۷", "2017"),  # Persian digits
        ("NATO", "nato"),
    ],
)
def test_normalize_unifies_spelling_variants(a: str, b: str) -> None:
    assert arabic.normalize(a) == arabic.normalize(b)


@pytest.mark.parametrize(
    "variants",
    [
        ["المدرسة", "مدرسة", "والمدرسة", "بالمدرسة", "للمدرسة", "فالمدرسة", "المدرسه"],
        ["الأمم", "الامم", "والأمم", "أمم"],
        ["الرئيس", "رئيس", "والرئيس"],
        ["السراج", "سراج", "والسراج"],
        ["الناتو", "ناتو"],
        ["بطرابلس", "وطرابلس", "طرابلس"],
        ["الكتاب", "كتاب", "بكتاب"],
    ],
)
def test_stems_absorb_article_and_clitics(variants: list[str]) -> None:
    stems = {arabic.stem(arabic.normalize(v)) for v in variants}
    assert len(stems) == 1, stems


# Issue 11: a one-letter clitic (و ف ب ك ل) must come off without taking a root letter with it. Each row:
# the letters every form's stem starts with (the word's own letters), then forms with and without clitics.
CLITIC_FAMILIES = [
    ("لبنان", ["لبنان", "بلبنان", "ولبنان", "للبنان", "وللبنان", "اللبناني", "اللبنانية", "لبنانيون"]),
    ("فلسطين", ["فلسطين", "بفلسطين", "وفلسطين", "لفلسطين", "الفلسطيني", "الفلسطينية", "الفلسطينيين"]),
    ("لندن", ["لندن", "بلندن", "ولندن", "للندن"]),
    ("ليبي", ["ليبيا", "بليبيا", "وليبيا", "لليبيا", "الليبي", "الليبيين"]),
    ("فرنس", ["فرنسا", "بفرنسا", "وفرنسا", "الفرنسي", "الفرنسية"]),
    ("بريطان", ["بريطانيا", "لبريطانيا", "وبريطانيا", "ببريطانيا", "البريطانية"]),
    ("بغداد", ["بغداد", "ببغداد", "وبغداد", "لبغداد"]),
    ("واشنطن", ["واشنطن", "بواشنطن", "وواشنطن"]),
    ("وزير", ["وزير", "الوزير", "ووزير", "والوزير", "للوزير", "الوزيرة"]),
    ("وزار", ["وزارة", "الوزارة", "بالوزارة", "ووزارة", "وزارات"]),
    ("بطول", ["بطولة", "البطولة", "بالبطولة", "بطولات"]),
    # ordinary words with real clitics
    ("قال", ["قال", "وقال", "فقال"]),
    ("مدين", ["مدينة", "المدينة", "بالمدينة", "والمدينة", "فالمدينة", "للمدينة"]),
    ("حكوم", ["حكومة", "الحكومة", "فالحكومة", "والحكومة", "للحكومة", "بالحكومة"]),
    ("تال", ["التالي", "بالتالي", "وبالتالي"]),
    ("عاد", ["العادة", "كالعادة"]),
    ("كتاب", ["كتاب", "الكتاب", "بكتاب", "والكتاب"]),
    ("كند", ["كندا", "بكندا", "وكندا"]),
    ("طرابلس", ["طرابلس", "بطرابلس", "وطرابلس"]),
]


@pytest.mark.parametrize(("letters", "forms"), CLITIC_FAMILIES, ids=[
    "lubnan", "filastin", "landan", "libya", "faransa", "britania", "baghdad", "washintun", "wazir", "wizara",
    "butula", "qala", "madina", "hukuma", "tali", "ada", "kitab", "kanada", "tarabulus"])
def test_clitic_forms_share_one_stem_that_keeps_the_word_letters(letters: str, forms: list[str]) -> None:
    stems = {form: arabic.stem(arabic.normalize(form)) for form in forms}
    assert len(set(stems.values())) == 1, stems
    assert all(s.startswith(arabic.normalize(letters)) for s in stems.values()), stems


@pytest.mark.parametrize("forms", [
    ["لوزان", "بلوزان", "ولوزان", "للوزان"],  # names outside the word list: letters may go, but alike
    ["بوغوتا", "ببوغوتا", "وبوغوتا", "لبوغوتا"],
    ["فيرونا", "بفيرونا", "وفيرونا"],
], ids=["lozan", "bogota", "verona"])
def test_clitic_forms_of_unlisted_words_still_share_one_stem(forms: list[str]) -> None:
    assert len({arabic.stem(arabic.normalize(f)) for f in forms}) == 1


def test_a_listed_stem_that_needs_an_ending_leaves_the_clitic_reading_alone() -> None:
    """بطول alone is ب + طول ("with a length of"), not the championship (بطولة)."""
    stem = lambda w: arabic.stem(arabic.normalize(w))  # noqa: E731
    assert stem("بطول") == stem("طول") != stem("بطولة")
    assert arabic.strip_clitics("بلبنان") == ("لبنان", True)
    assert arabic.strip_clitics("بالمدينه") == ("مدينه", False)
    assert isinstance(arabic.ANALYZER_VERSION, int) and arabic.ANALYZER_VERSION >= 2


def test_ngrams_share_most_grams_when_stemming_cannot_help() -> None:
    """ليبيا / بليبيا: a single-letter clitic on a name, matched by n-grams too (for names outside the
    stemmer's word list, n-grams are the only side that keeps every letter)."""
    plain, prefixed = set(arabic.char_ngrams("ليبيا")), set(arabic.char_ngrams("بليبيا"))
    assert len(plain & prefixed) / len(plain) >= 0.5
    assert arabic.word_ngrams("في") == [" في", "في ", " في "]


def test_tokenize_splits_punctuation_and_scripts() -> None:
    assert arabic.tokenize("قال (NATO)،اليوم: ٣٫٥ مليون!") == ["قال", "nato", "اليوم", "3.5", "مليون"]
    assert arabic.tokenize("NATOناتو") == ["nato", "ناتو"]
    assert arabic.tokenize("حلف-الناتو/الأطلسي") == ["حلف", "الناتو", "الاطلسي"]
    assert arabic.tokenize("") == []


def test_stop_words_dropped_in_any_spelling() -> None:
    assert keys("على") == [] and keys("علي") == []  # normalised stop list
    assert keys("ما هي عاصمة ليبيا؟") == keys("عاصمة ليبيا")
    assert keys("What is the capital of Libya?") == keys("capital Libya")


def test_english_is_stemmed_as_english() -> None:
    assert keys("elections") == keys("election")
    assert keys("Ministers met") == ["minist", "met"]


def test_normalize_never_changes_display_semantics_of_offsets() -> None:
    text = "قالَ الوزيرُ"
    spans = arabic.sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [text]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ما هي عاصمة ليبيا؟", "ar"),
        ("What is the capital of Libya?", "en"),
        ("ماذا قال NATO عن Trump في قمة Brussels؟", "ar"),
        ("2017", "ar"),  # no letters: the product default
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert arabic.detect_language(text) == lang


@pytest.mark.parametrize(
    ("sentence", "holds_a_number"),
    [
        ("أكد مصدر أن نحو 70 جنديًا نقلوا إلى روسيا", True),
        ("توجه عشرات من مقاتلي حفتر إلى روسيا", True),
        ("وزار موسكو في نوفمبر 2016 كما تفقد حاملة طائرات", False),  # a date is no count
        ("في عام 2015 وقع الاتفاق", False),
        ("He visited on 12 March 2019", False),
        ("In 2016, 70 soldiers were flown out", True),  # a count beside a date still counts
        ("قرأ 5 كتاب في الشهر", True),  # "اب" inside a word is no month
    ],
)
def test_a_how_many_question_is_answered_by_counts_not_dates(sentence: str, holds_a_number: bool) -> None:
    assert arabic.question_type("How many soldiers were flown to Russia?") == "number"
    assert arabic.mentions_type(sentence, "number") is holds_a_number
