"""All Arabic (and Latin) text handling: normalise, tokenise, stem, stop words, sentence splitting, language.

Used at index time AND at query time so both sides see the same forms. Display text is never changed:
``normalize`` and ``analyze`` produce matching keys only; ``sentence_spans`` returns offsets into the
original string. Every regex here is Unicode-aware (``str`` patterns, ``\\w`` covers Arabic letters).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "normalize",
    "strip_marks",
    "tokenize",
    "stem",
    "analyze",
    "char_ngrams",
    "word_ngrams",
    "is_stopword",
    "sentence_spans",
    "split_sentences",
    "append_trimmed_span",
    "detect_language",
    "arabic_ratio",
    "question_type",
    "mentions_type",
    "strip_clitics",
    "ANALYZER_VERSION",
]

# Harakat, tanween, shadda, sukun, superscript alef, Quranic marks; tatweel separately.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_CHAR_MAP = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ئ": "ء",
        "ة": "ه",
        "ؤ": "ء",
        "ک": "ك", "ڪ": "ك",
        "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4",
        "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
        "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4",
        "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
        "٫": ".", "٬": ",", "،": ",", "؛": ";", "؟": "?",
        "\u200c": " ", "\u200d": "", "\u200e": "", "\u200f": "", "\ufeff": "",
    }
)

# A token: a number (with inner . or , between digits), or a run of letters/marks of one script.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")

# Question words and the most frequent function words, normalised. Kept small on purpose:
# a big stop list did nothing on the dev data, a question-word list helped.
_STOP_AR = """
من في على الي عن مع ان او ثم قد لا لم لن ما ماذا متي اين كيف كم هل لماذا اي التي الذي الذين اللذين
اللتين اللواتي اللاتي هو هي هم هن هما انا نحن انت انتم كان كانت يكون تكون كانوا هذا هذه ذلك تلك
هناك هنا بين عند الا حتي اذا لقد كل بعض غير ايضا اما وقد وكان وهو وهي فيه فيها منه منها عليه عليها
اليه بها به له لها لهم الى
"""
_STOP_EN = """
a an the of in on at to for from by with and or not is are was were be been being what which who whom
whose when where why how did do does has have had this that these those it its as into than then there
"""
_RAW_STOPWORDS = (_STOP_AR + _STOP_EN).split()

#: Version of the matching keys (``normalize``, ``tokenize``, ``stem``). Bump it whenever a change gives some
#: text other keys: an index that stored keys of another version must be rebuilt, or its stems stop matching
#: the query side's. 1: one clitic stripped, then Snowball (which stripped again); 2: clitic grammar + lexicon.
ANALYZER_VERSION = 2

# --- clitics --------------------------------------------------------------------------------------
# An Arabic word may carry, in this order: a conjunction و/ف, a preposition ب/ك/ل, the article ال
# (ل + ال is written لل). Each of these letters also begins many words (لبنان, فلسطين, بغداد, وزير):
# no rule on letters alone can tell ب+لبنان from ل+بنان. So:
# 1. a word in _WORDS below, after any clitic sequence, keeps its letters: all its forms give the entry
#    (لبنان, بلبنان, للبنان, اللبناني -> لبنان);
# 2. any other word: the longest clitic sequence that leaves 3 letters, then every further و ف ب ل while
#    more than 3 letters remain. A word outside the list that begins with such a letter loses it, but in
#    every form alike (بوغوتا, ببوغوتا -> غوتا), so its forms still match; Snowball then strips suffixes
#    (and a second ال: الالغاء -> الغاء -> غاء, like الغاء), its clitic steps finding nothing left.
# The old rule (one prefix, then Snowball, which strips و ف ب again but never ل) ate root letters
# unevenly: لبنان -> نان but بلبنان -> لبنان; فلسطين -> لسطين.
_CONJUNCTIONS = "وف"
_LONE_PREPOSITIONS = "بل"  # ك alone is rarely a clitic (كتاب, كبير): it is stripped only as كال
_STRIPPABLE = frozenset(_CONJUNCTIONS + _LONE_PREPOSITIONS)
_MIN_STEM = 3

# Words whose first letter looks like a clitic (و ف ب ل): place and person names of the news and frequent
# words. A form of an entry is the entry plus one of _WORD_ENDINGS; an entry written with ة is a stem
# that needs an ending (بطولة: بطولة, بطولات, بطولته, but not بطول = ب + طول).
_WORDS_RAW = """
لبنان ليبي لندن فلسطين فرنس بريطان واشنطن باريس برلين بغداد بيروت بنغازي بلجيك بولند فنزويل فيتنام
فنلند بروكسل بكين بنما بوليفي بلغاري بيلاروس لاتفي ليتواني لوكسمبورغ ليبيري فيينا فلوريد فرجيني
ليون لشبونة برشلونة باكستان بنغلادش بورما بوروندي بوركينا لاهاي بودابست بوخارست باكو بلغراد
بيونغ بنزرت باجة بنقردان بورقيبة فاس لاغوس
بوتين بايدن بوش بلير لافروف لوبان فيون بيريز ليبرمان فلاديمير باراك بوريس لطفي وليد وائل
وزير وزراء وزارة وطن ولاية وكالة وسيلة وسائل وسط وقت وجود وحدة وثيقة وثائق وفد وفود وفاة وضع وصول
واقع وقوع وصف وقف وراء وادي ورق وظيفة وظائف وعد وعود وعي ولد وسيط واجب وارد وباء وقود
ورشة وكيل وصل وافق وجه وقع
فريق فرصة فكر فترة فيلم فوز فتح فصل فساد فاسد فعل فرع فروع فائدة فتاة فتيات فرق فني فنان فندق فيروس
فيضان فضاء فضل فقر فقير فلاح فوضى فيديو فيسبوك فايسبوك فرض فرار فور فعالية فصائل فصيل فحص فاتورة
فلسفة
بيان بلد بلاد برنامج برامج برلمان بنك بنوك بطولة بطل بطالة بناء بنى بيع بيت بيوت بحث بحوث بحري
بحرين بحيرة بداية بيئة بشر بئر برج بترول بورصة بند بنود بعث بضائع باب بريد بروتوكول بطاقة بنزين
بنات بوابة بلوغ بدل بديل بعيد بقاء بقي بارز بالغ باقي بلاغ
لجنة لجان لقاء لاعب لجوء لاجئ لحظة ليل لغات لائحة لواء لقب لوح لحم لحوم لون لقاح لياقة لعب لوبي
ليبرالي لغم
برازيل برتغال فلبين فاتيكان بنتاغون فيفا بابل فارس فرعون فينيقي بيزنطي فيكتوريا فيليب فريدريك بيتر ويليام
وليام لويس بشير فريد فتاح لطيف وحيد وهاب
لازم وفاق بحار واحد وافد بارود بارحة فسفاط باحث وجوه فتنة وقاية بلاستيك فرقاء وفيات بكالوريا فقيد
وساطة بيضاء فقراء ولادة فيتو فائز فاعل فئة فرد فدرالي فيدرالي فوضوي بيطري فنادق فصول فطور فنون
واضح واسع بضاعة باليستي بدني بدوي لباس فيزياء لافت فارق فوارق برميل فارغ فاشل لهجة ولاء وراثة لاحق
براءة وجبة فيلسوف
"""
# What may follow a word of _WORDS: case and number endings, ta marbuta, nisba, possessive pronouns.
_WORD_ENDINGS = ("", *sorted(
    "ا ه ي ت ان ين ون ات يه يا ها هم هن نا كم وا تا ته تي يون يين يات تها تهم تين تان هما تنا".split(), key=len))


def normalize(text: str) -> str:
    """Matching key for ``text``: NFKC, no diacritics or tatweel, unified alef/ya/ta-marbuta/hamza
    carriers, Western digits, lower-case Latin. Never shown to a user."""
    return strip_marks(text).translate(_CHAR_MAP).lower()


def strip_marks(text: str) -> str:
    """NFKC ``text`` without diacritics or tatweel, its letters kept (ة stays ة): for rules that need the spelling."""
    return _DIACRITICS.sub("", unicodedata.normalize("NFKC", text)).replace(_TATWEEL, "")


#: stop words in normalised form (the form tokens have when they are compared)
STOPWORDS: frozenset[str] = frozenset(normalize(w) for w in _RAW_STOPWORDS)



def _word_list(raw: str) -> dict[str, bool]:
    """Normalised stem -> whether the stem alone (no ending) is a form of the word."""
    words: dict[str, bool] = {}
    for word in raw.split():
        base = normalize(word.removesuffix("ة"))
        words[base] = words.get(base, False) or not word.endswith("ة")
    return words


@functools.cache
def _words() -> dict[str, bool]:
    """The clitic-stripping word list (see _WORDS_RAW), normalised on first use, not at import."""
    return _word_list(_WORDS_RAW)


def tokenize(text: str) -> list[str]:
    """Normalised word and number tokens; Latin and Arabic runs are separate tokens (``NATOناتو``)."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(normalize(text)):
        tokens.extend(_split_scripts(match.group()))
    return tokens


def _split_scripts(token: str) -> Iterable[str]:
    if not (_ARABIC_LETTER.search(token) and _LATIN_LETTER.search(token)):
        return (token,)
    return [m.group() for m in re.finditer("[\u0600-\u06ff]+|[^\u0600-\u06ff]+", token)]


@functools.lru_cache(maxsize=1)
def _stemmers() -> tuple[object, object]:
    import Stemmer  # PyStemmer: Snowball Arabic and English

    return Stemmer.Stemmer("arabic"), Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Matching stem of one normalised token: Arabic clitics stripped by ``strip_clitics``, then the
    Snowball suffixes; a word of the built-in list is its own stem in every form (بلبنان, اللبناني -> لبنان)."""
    if token.isdigit() or len(token) < 3:
        return token
    arabic, english = _stemmers()
    if _ARABIC_LETTER.match(token):
        rest, known = strip_clitics(token)
        return rest if known else normalize(arabic.stemWord(rest))  # type: ignore[attr-defined]
    return english.stemWord(token)  # type: ignore[attr-defined]


def _clitic_prefixes(token: str) -> list[str]:
    """Every clitic sequence ``token`` may begin with, shortest first (always ``""``): a conjunction و/ف,
    then a preposition ب/ك/ل, then the article ال (ل + ال is written لل); ك only before ال."""
    found = {""}
    for conj in ("", *(c for c in _CONJUNCTIONS if token.startswith(c))):
        rest = token[len(conj):]
        found.add(conj)
        if rest.startswith("ال"):
            found.add(conj + "ال")
        if rest.startswith("لل"):
            found.add(conj + "لل")
        if rest[:1] and rest[0] in _LONE_PREPOSITIONS:
            found.add(conj + rest[0])
        if rest[:1] in ("ب", "ك") and rest[1:].startswith("ال"):
            found.add(conj + rest[0] + "ال")
    return sorted(found, key=len)


def strip_clitics(token: str) -> tuple[str, bool]:
    """(what is left of a normalised Arabic token without its clitics, whether that is a listed word).

    A listed word after any clitic sequence wins, and comes back as its entry, never losing a letter.
    Otherwise: the longest clitic sequence that leaves at least 3 letters, then any further و ف ب ل while
    more than 3 remain, so that every clitic form of a word strips to the same letters. A pure function
    of the token: the same at index and query time, whatever the index holds."""
    prefixes = _clitic_prefixes(token)
    for prefix in prefixes:
        entry = _listed(token[len(prefix):])
        if entry:
            return entry, True
    rest = token
    for prefix in reversed(prefixes):
        if len(token) - len(prefix) >= _MIN_STEM:
            rest = token[len(prefix):]
            break
    while len(rest) > _MIN_STEM and rest[0] in _STRIPPABLE:
        rest = rest[1:]
    return rest, False


def _listed(word: str) -> str | None:
    """The _WORDS entry ``word`` is a form of (entry + one of _WORD_ENDINGS), else None."""
    words = _words()
    for ending in _WORD_ENDINGS:
        if word.endswith(ending):
            base = word[: len(word) - len(ending)]
            if words.get(base) or (ending and base in words):
                return base
    return None


def is_stopword(token: str) -> bool:
    return token in STOPWORDS


def analyze(text: str, *, stopwords: bool = True) -> list[str]:
    """Tokens for keyword search: normalise → tokenise → drop stop words → stem."""
    return [stem(t) for t in tokenize(text) if not (stopwords and t in STOPWORDS)]


def word_ngrams(token: str, sizes: tuple[int, ...] = (3, 4)) -> list[str]:
    """Character n-grams of one normalised token padded with spaces (`` ليبيا `` -> `` لي``, ``ليب`` ...);
    a token shorter than a size yields itself, padded, once."""
    padded = f" {token} "
    grams: list[str] = []
    for n in sizes:
        if len(padded) <= n:
            grams.append(padded)
        else:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def char_ngrams(text: str, sizes: tuple[int, ...] = (3, 4)) -> list[str]:
    """Character n-grams inside space-padded normalised words: absorbs clitics and spelling variants."""
    return [g for t in tokenize(text) if t not in STOPWORDS for g in word_ngrams(t, sizes)]


# --- sentences ----------------------------------------------------------------------------------

# A sentence ends after . ! ? ؟ … (plus closing quotes/brackets) followed by space, or at a line break.
# A period between digits (3.5) is never followed by space, so numbers are never split; ١٢٫٥ uses ٫.
# Scraped Arabic news often drops the space after a full stop ("يناير.والشهر"): a stop between two
# Arabic words also ends a sentence when the word before has two letters or more (so "د.محمد" stays).
_SENT_END = re.compile(
    r"[.!?؟…]+[\"'”’»)\]]*(?=\s|$)|\n+"
    r"|(?:(?<=[\u0621-\u064A\u064B-\u0652][\u0621-\u064A\u064B-\u0652])|(?<=\dم)|(?<=\d م))[.!؟](?=[\u0621-\u064A])"
)
# Era marks after a year ("عام 2016 م. وقال", "500 ق.م."): the period ends the sentence, not an abbreviation.
_ERA_MARKS = frozenset({"م", "ه", "هـ", "ق.م"})
# Words that end in a period without ending a sentence (compared lower-cased, without the period).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st vs etc inc ltd jr sr gen col lt sgt capt gov sen rep jan feb mar apr jun jul aug sep "
    "sept oct nov dec fig approx dept op cf al".split()
)
# Initialisms with inner periods (U.S, e.g, i.e, a.m) and single letters (J. Smith, د. محمد).
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]|[^\W\d_]")
_NUMBER_AFTER = re.compile(r"\s*\d")


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation, not a sentence. 'No.' only counts before
    a number ('No. 5'), so 'He said no.' still ends a sentence."""
    begin = dot
    while begin > start and not text[begin - 1].isspace():
        begin -= 1
    word = text[begin:dot].lstrip("(\"'“«").lower()
    if not word:
        return False
    if word in _ERA_MARKS and text[:begin].rstrip()[-1:].isdigit():
        return False
    if word == "no":
        return bool(_NUMBER_AFTER.match(text, dot + 1))
    return word in _ABBREVIATIONS or bool(_INITIALISM.fullmatch(word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in ``text``, whitespace trimmed, never splitting inside a
    number (3.5, ١٢٫٥) or after an abbreviation (Dr., U.S., د.)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENT_END.finditer(text):
        end = match.end()
        if match.group() == "." and _is_abbreviation(text, start, match.start()):
            continue
        append_trimmed_span(text, start, end, spans)
        start = end
    append_trimmed_span(text, start, len(text), spans)
    return spans


def append_trimmed_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append text[start:end] with outer whitespace trimmed, unless nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


# --- language -----------------------------------------------------------------------------------


def arabic_ratio(text: str) -> float:
    """Share of letters that are Arabic script."""
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    return arabic / (arabic + latin) if arabic + latin else 0.0


def detect_language(text: str, default: str = "ar") -> str:
    """'ar' or 'en' by script: the product's two languages. Mixed text with a Latin name inside an
    Arabic question is still Arabic; text without letters (a bare number) gets ``default``."""
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if arabic + latin == 0:
        return default
    return "ar" if arabic / (arabic + latin) >= 0.3 else "en"


# --- what a question asks for ---------------------------------------------------------------------
# Only the types a sentence can be checked for without a tagger: a number or a date. Patterns run on
# ``normalize``d text (alef/ya/ta marbuta folded, digits Western), so one spelling covers the variants.
_ASKS_DATE = re.compile(
    r"(?:^|\s)(?:متي|في اي (?:عام|سنه|شهر|يوم|تاريخ|قرن)|ما (?:هو )?تاريخ|منذ متي|الي متي)(?:\s|$)"
    r"|\b(?:when|what year|which year|what date|in what year|what century)\b")
_ASKS_NUMBER = re.compile(
    r"(?:^|\s)(?:ب?كم|ما (?:هو |هي )?(?:عدد|نسبه|مساحه|طول|عرض|ارتفاع|عمق|قيمه|سعر|حجم|مبلغ|وزن|سرعه|مده))(?:\s|$)"
    r"|\b(?:how (?:many|much|long|old|far|tall|large|big)|what (?:percentage|percent|number|proportion))\b")
_MONTHS = (r"يناير|فبراير|مارس|ابريل|مايو|ماي|يونيو|يونيه|جوان|يوليو|يوليه|جويليه|اغسطس|اوت|سبتمبر|اكتوبر|نوفمبر|ديسمبر"
           r"|كانون|شباط|اذار|نيسان|ايار|حزيران|تموز|اب|ايلول|تشرين"
           r"|january|february|march|april|may|june|july|august|september|october|november|december")
_DATE_WORDS = re.compile(rf"(?:^|\W)(?:ال|ب|في|و)?(?:{_MONTHS})(?:\W|$)|\b1\d{{3}}\b|\b20\d{{2}}\b|القرن|century")
_DATE_MENTION = re.compile(
    rf"(?:\b\d{{1,2}}\s+)?(?<!\w)(?:ال|ب|في|و)?(?:{_MONTHS})(?:\s+\d{{4}})?(?=\W|$)"
    r"|(?:عام|العام|سنه|السنه|year|in|since)\s+\d{4}\b")
_NUMBER_WORDS = re.compile(
    r"\d|(?:^|\W)(?:و|ب|ال|وال|بال)?(?:واحد|اثن|اثنت|ثلاث|اربع|خمس|ست|سبع|ثماني|ثمان|تسع|عشر|ماء|مء|ماءت|الف|الاف"
    r"|مليون|ملايين|مليار|مليارات|نصف|ربع|ثلث)(?:ه|ون|ين|ان|ات|ا|ي|تين|تان)?(?=\W|$)"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundreds?|thousands?|millions?|billions?|dozens?|half)\b")


def question_type(question: str) -> str:
    """``"date"``, ``"number"`` or ``"other"``: what kind of answer the question asks for (Arabic or
    English question words). Why: a sentence that names the question's entities but holds no number
    cannot answer "how many ...?", which is what near-miss questions look like."""
    text = normalize(question).lower()
    if _ASKS_DATE.search(text):
        return "date"
    if _ASKS_NUMBER.search(text):
        return "number"
    return "other"


def mentions_type(sentence: str, kind: str) -> bool:
    """Whether ``sentence`` contains an answer of ``kind`` (any sentence can answer ``"other"``)."""
    text = normalize(sentence).lower()
    if kind == "date":
        return bool(_DATE_WORDS.search(text))
    if kind == "number":  # a date's digits (نوفمبر 2016, in 2016) are no count or amount
        return bool(_NUMBER_WORDS.search(_DATE_MENTION.sub(" ", text)))
    return True
