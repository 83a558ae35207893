"""Boilerplate cleaning: pinned on the five sample articles, plus the general rules on made-up text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingestion.clean import clean_text, derive_title, is_headline
from tests.conftest import SEEDS, SHARED


def _seed(prefix: str) -> str:
    (path,) = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8")


def _raw_lines(raw: str) -> set[str]:
    return {line.strip() for line in raw.splitlines() if line.strip()}


def _check_verbatim(raw: str, text: str) -> None:
    """Every kept line is a line (or, for a breadcrumb headline, part of a line) of the raw file."""
    lines = _raw_lines(raw)
    for line in text.split("\n"):
        if line:
            assert line in lines, line


# --- the five seeds --------------------------------------------------------------------------------

SEED_CASES = {
    "000": {
        "title": "الجيش الوطني الليبي",
        "dropped": [],
        "kept": ["أكد مصدر عسكري، اليوم الخميس، أن نحو 70 جنديًا", "كما سيتركز البحث خصوصًا حول التعاون"],
        "paragraphs": 8,
    },
    "001": {
        "title": "وافق مبدئيًّا ، على طلب السراج بإعادة تأهيل أجهزة الأمن في ليبيا…"
                 "الحلف الأطلسي يدخل ليبيا من الباب العريض",
        "dropped": ["elmaouid"],
        "dropped_prefix": ["الرئيسية / دولي /"],
        "kept": ["كشفت مصادر دبلوماسية ، أن مجلس منظمة حلف شمال الأطلسي", "وقالت المصادر إن الموافقة السياسية"],
        "paragraphs": 2,
    },
    "002": {
        "title": "حفتر يستقبل قائد ‘أفريكوم’: توحيد المؤسسات في مقدمة ملفات التعاون",
        "dropped": [
            "-",
            "ليبيا… حفتر لم يحسم قراره بشأن الترشح للانتخابات الرئاسية الليبية",
            "ليبيا.. باريس تستضيف لقاء بين حفتر والسراج برعاية أممية",
            "أزمة البنك المركزي تدفع غرب ليبيا نحو حافة الاقتتال",
            "بعد 3 أشهر من الإغلاق.. إعادة فتح معبر راس جدير",
            "حفتر في روسيا لبحث تطوير مرحلة جديدة في الشراكة العسكرية",
        ],
        "kept": ["الهدف الأمريكي", "الجيش الليبي", "ملفات التعاون", "لم تبرد بعد محركات طائرة المبعوثة الأممية",
                 "وعن ملف الهجرة غير الشرعية، يصفه بأنه أحد أهم ملفات التعاون"],
        "paragraphs": 16,
    },
    "003": {
        "title": "حفتر يستنجد بروسيا لدعم قواته",
        "dropped": ["0", "جميع الحقوق محفوظه © شبكة مِجْهَار", "تصميم الورشه"],
        "kept": ["• وصل القائد العام للجيش الليبي", "الأزمة الليبية تمثل هامشا لتحرك الدبلوماسية الروسية",
                 "وأضاف قوله “أي تفويض محتمل لعملية ضد الإرهابيين في ليبيا"],
        "paragraphs": 13,
    },
    "004": {
        "title": "علمت “النهار” أن قيادات “الجيش الوطني” الليبي الذي يسيطر على شرق ليبيا ومناطق شاسعة في…",
        "dropped": [],
        "kept": ["علمت “النهار” أن قيادات “الجيش الوطني” الليبي الذي يسيطر", "ويتفق رئيس التحالف الليبي – الأميركي"],
        "paragraphs": 9,
    },
}


@pytest.mark.parametrize("prefix", sorted(SEED_CASES))
def test_seed_title_dropped_and_kept(prefix: str) -> None:
    case = SEED_CASES[prefix]
    raw = _seed(prefix)
    title, text, dropped = clean_text(raw)
    assert title == case["title"]
    for line in case["dropped"]:
        assert line in dropped
        assert line not in text.split("\n")
    for start in case.get("dropped_prefix", []):
        assert any(d.startswith(start) for d in dropped)
        assert start not in text
    for fragment in case["kept"]:
        assert fragment in text
    _check_verbatim(raw, text)


@pytest.mark.parametrize("prefix", sorted(SEED_CASES))
def test_seed_layout(prefix: str) -> None:
    """Title line (when there is a headline), blank line, then the expected number of paragraphs."""
    title, text, _ = clean_text(_seed(prefix))
    blocks = text.split("\n\n")
    has_title_line = blocks[0] == title
    assert len(blocks) - has_title_line == SEED_CASES[prefix]["paragraphs"]
    assert "\n\n\n" not in text and text == text.strip()


def test_seed_004_has_no_title_line_and_loses_no_text() -> None:
    raw = _seed("004")
    title, text, dropped = clean_text(raw)
    assert title.endswith("…") and len(title) <= 91
    assert not text.startswith(title)
    assert dropped == ()
    assert text.split("\n\n") == [line.strip() for line in raw.splitlines() if line.strip()]


def test_seed_002_keeps_every_paragraph_of_prose() -> None:
    raw = _seed("002")
    _, text, _ = clean_text(raw)
    prose = [line for line in raw.splitlines() if len(line.split()) > 20]
    assert prose and all(line in text for line in prose)


# --- general rules on made-up articles ---------------------------------------------------------------

BODY = "وقال المتحدث باسم الحكومة إن الاجتماع المقبل سيعقد في العاصمة خلال الأسبوع القادم لبحث الملفات العالقة."


def test_breadcrumb_and_latin_byline_dropped() -> None:
    raw = f"الصفحة الرئيسية » اقتصاد » ارتفاع أسعار النفط في الأسواق العالمية\nalwasat news\n\n{BODY}\n\n{BODY}"
    title, text, dropped = clean_text(raw)
    assert title == "ارتفاع أسعار النفط في الأسواق العالمية"
    assert text == f"{title}\n\n{BODY}\n\n{BODY}"
    assert dropped == ("الصفحة الرئيسية » اقتصاد » ارتفاع أسعار النفط في الأسواق العالمية", "alwasat news")


def test_breadcrumb_in_english_article() -> None:
    body = "Leaders met in Rome on Monday to discuss trade and agreed to meet again next month."
    title, text, dropped = clean_text(f"Home > World > Leaders meet in Rome to discuss trade\n\n{body}")
    assert title == "Leaders meet in Rome to discuss trade"
    assert text == f"{title}\n\n{body}"
    assert len(dropped) == 1


def test_latin_name_is_kept_as_title_when_first_line() -> None:
    """An English page name as the first line (XQuAD style) is a title, not a byline."""
    title, text, dropped = clean_text(f"Nikola_Tesla\n\n{BODY}")
    assert title == "Nikola_Tesla" and dropped == ()
    assert text == f"Nikola_Tesla\n\n{BODY}"


def test_share_counters_and_share_bars_dropped_anywhere() -> None:
    raw = f"عنوان الخبر هنا\n\n12\n\n{BODY}\n\nFacebook Twitter WhatsApp\n\n1.2k مشاركة\n\n{BODY}"
    _, text, dropped = clean_text(raw)
    assert {"12", "Facebook Twitter WhatsApp", "1.2k مشاركة"} <= set(dropped)
    assert text.count(BODY) == 2


def test_numbers_inside_prose_survive() -> None:
    raw = f"عنوان\n\nبلغ عدد الجنود 70 جنديا نقلوا إلى روسيا للعلاج في المستشفيات العسكرية هناك.\n\n{BODY}"
    _, text, dropped = clean_text(raw)
    assert dropped == ()
    assert "70 جنديا" in text


def test_read_also_block_dropped_but_subheading_after_it_kept() -> None:
    raw = (f"عنوان الخبر\n\n{BODY}\n\nاقرأ أيضا:\nعنوان خبر آخر عن الاقتصاد\nعنوان خبر ثالث\n\n{BODY}"
           f"\n\nخاتمة الملف\n\n{BODY}")
    _, text, dropped = clean_text(raw)
    assert "عنوان خبر آخر عن الاقتصاد" in dropped and "عنوان خبر ثالث" in dropped
    assert "خاتمة الملف" in text


def test_copyright_footer_only_at_the_end() -> None:
    middle = "وأكد أن جميع الحقوق محفوظة للمواطنين في الدستور الجديد الذي أقره البرلمان أمس بأغلبية كبيرة."
    raw = f"عنوان\n\n{middle}\n\n{BODY}\n\nCopyright © 2024 Example News\nPowered by WordPress"
    _, text, dropped = clean_text(raw)
    assert middle in text
    assert dropped == ("Copyright © 2024 Example News", "Powered by WordPress")


def test_duplicate_headline_removed_once() -> None:
    raw = f"عنوان مكرر للخبر\n\nعنوان مكرر للخبر\n\n{BODY}"
    title, text, dropped = clean_text(raw)
    assert text == f"عنوان مكرر للخبر\n\n{BODY}"
    assert dropped == ("عنوان مكرر للخبر",)


def test_given_title_is_used_and_not_repeated() -> None:
    title, text, _ = clean_text(f"عنوان من البيانات\n\n{BODY}", title="عنوان من البيانات")
    assert text == f"عنوان من البيانات\n\n{BODY}"
    title, text, _ = clean_text(BODY, title="عنوان  من\nالبيانات")
    assert title == "عنوان من البيانات" and text == f"{title}\n\n{BODY}"


def test_hard_wrapped_lines_stay_one_paragraph_and_whitespace_trimmed() -> None:
    wrapped = "This is a paragraph that was\nwrapped at a short width by\nsome editor program"
    raw = f"Title here\n\n  {wrapped}\n\n\xa0Next one.  \r\n"
    _, text, _ = clean_text(raw)
    assert text == f"Title here\n\n{wrapped}\n\nNext one."


def test_headline_rules() -> None:
    assert is_headline("قطر : لن نستسلم..")
    assert is_headline("هل يعود حفتر إلى موسكو؟")
    assert not is_headline("قال المتحدث إن الاجتماع انتهى.")
    assert not is_headline(BODY + BODY)


def test_derive_title_cuts_at_word_boundary() -> None:
    title = derive_title(BODY + " " + BODY)
    assert title.endswith("…") and " ".join(title[:-1].split()) in BODY
    assert derive_title("جملة قصيرة. وأخرى.") == "جملة قصيرة"
    assert derive_title("") == ""


def test_empty_input() -> None:
    assert clean_text("") == ("", "", ())


# --- the dev corpora are already clean: cleaning must leave them exactly as they are ------------------

DEV = SHARED / "eval" / "dev"


@pytest.mark.skipif(not DEV.is_dir(), reason="shared dev data not present")
def test_dev_corpora_pass_through_unchanged() -> None:
    files = sorted(DEV.glob("corpus_*/*.txt"))
    assert len(files) > 100
    changed: list[Path] = []
    for path in files:
        raw = path.read_text(encoding="utf-8")
        title, text, dropped = clean_text(raw)
        expected = "\n\n".join(block.strip() for block in raw.strip().split("\n\n"))
        if text != expected or title != raw.split("\n", 1)[0].strip() or dropped:
            changed.append(path)
    assert changed == []


def test_two_part_breadcrumb_only_after_a_home_link() -> None:
    title, text, dropped = clean_text(f"الرئيسية / دولي\nحفتر يزور موسكو\n\n{BODY}")
    assert (title, dropped) == ("حفتر يزور موسكو", ("الرئيسية / دولي",))
    title, text, dropped = clean_text(f"حفتر يزور موسكو | موقع الأخبار\n\n{BODY}")
    assert title == "حفتر يزور موسكو | موقع الأخبار" and dropped == ()
