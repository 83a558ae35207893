"""Follow-up questions: does a question lean on the conversation, and what does it refer to?

Why: retrieval sees one string. Rewriting every question with words of earlier turns made a change of topic
("ماذا ناقش حفتر مع قائد أفريكوم؟" after a question on soldiers flown to Russia) retrieve the previous
article again. So a question is rewritten only when it needs the conversation, and then only with its
referent, the topic words of the last question, not every key term the chat ever had.

A question needs the conversation when, with no tagger and no model (Arabic and English):
- it points outside itself: a pronoun (هو، هي، هم / he, she, they), a demonstrative (هذا، هذه، ذلك، تلك /
  this, these, those), a preposition with an attached pronoun (عنه، فيها، لهم), or a verb or noun with one
  (استقبله، عددهم) that no name earlier in the question can carry (two content words before it, or for
  English a capitalised name);
- it is an ellipsis: "وماذا عن روسيا؟", "what about Russia?";
- it has no content word of its own ("لماذا؟", "and when?");
- it continues the last turn (starts with و/ف or "and") with one content word, or two that repeat the
  last question's words (high overlap: a short re-mention of the same topic).
Anything else is self-contained and is searched as the user wrote it, with or without an LLM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag import arabic
from rag.types import Turn

__all__ = ["Reading", "read", "needs_history", "referent", "resolve", "overlap"]

_MAX_TURNS = 8  # how far back a chain of follow-ups is resolved
_MAX_REFERENT_WORDS = 6  # the last question's own words first, then what it inherited: a chain stays short


def _norm_set(words: str) -> frozenset[str]:
    return frozenset(arabic.normalize(w) for w in words.split())


_AR_PRONOUNS = _norm_set("هو هي هم هما هن")
_AR_DEMONSTRATIVES = _norm_set("هذا هذه ذلك تلك ذاك هذان هاتان هؤلاء أولئك")
_AR_CONNECTIVES = _norm_set("كذلك لذلك وكذلك ولذلك")  # "also", "therefore": no reference
_AR_PREPOSITIONS = _norm_set("عن من في ل ب إلى على مع عند لدى حول ضد بين منذ بعد قبل")
_AR_SUFFIXES = ("هما", "هم", "هن", "ها", "ه")  # attached pronouns, longest first
_AR_QUESTION_WORDS = _norm_set("من ما ماذا متى أين كيف كم هل لماذا أي لم")
# words whose last letters look like an attached pronoun but belong to the word
_AR_OWN_ENDINGS = _norm_set("اتجاه انتباه اشتباه مياه رفاه إكراه تشابه مشابه متشابه نزيه تنبيه فقيه وجيه كريه "
                            "شبيه نبيه كلاهما كلتاهما")
_AR_ELLIPSIS = re.compile(r"^(?:[وف] ?)?(?:ماذا|ما|ما ذا) (?:عن|بشان|بخصوص)(?: |$)|^[وف]?(?:عن|بشان) ")
_EN_PERSONAL = frozenset("he she it they him her them his hers its their theirs".split())
_EN_DEMONSTRATIVES = frozenset("this these those".split())
_EN_TIME = frozenset("year week month time morning evening day decade".split())
_EN_BEFORE_THAT = frozenset("about of in on for with after before from to at by during did do does is was".split())
_EN_FUNCTION = _EN_BEFORE_THAT | frozenset("say said tell about also any some more".split())
_EN_EXPLETIVE_NEXT = frozenset("true possible likely known reported clear".split())
_EN_ELLIPSIS = re.compile(r"^(?:and |so )?(?:what|how) about\b")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_SOURCE_LINE = re.compile(r"^\[\d+\]\s+(.+?)(?:\s+—\s+.*)?$")


@dataclass(frozen=True)
class Reading:
    """What a question holds on its own: its content words (as written) and the words pointing outside it."""

    words: tuple[str, ...]
    dangling: tuple[str, ...]
    ellipsis: bool
    continues: bool


def _ar_kind(word: str, key: str, before: list[str], rest: list[str]) -> str:
    """'ref' (points outside), 'weak' (attached pronoun, maybe to a name in the question), 'function', 'content'."""
    bare = key[1:] if key[:1] in ("و", "ف") and len(key) > 2 else key
    if key in _AR_CONNECTIVES:
        return "function"
    if bare in _AR_DEMONSTRATIVES or key in _AR_DEMONSTRATIVES:
        return "ref"
    if bare in _AR_PRONOUNS or key in _AR_PRONOUNS:  # "من هو حفتر؟": a copula after a question word
        copula = bool(before) and before[-1] in _AR_QUESTION_WORDS and any(_is_content(w) for w in rest)
        return "function" if copula else "ref"
    if any(w.endswith(s) and w[: -len(s)] in _AR_PREPOSITIONS for w in (key, bare) for s in _AR_SUFFIXES):
        return "ref"
    if arabic.is_stopword(key) or bare in _AR_QUESTION_WORDS or len(key) < 2:
        return "function"
    return "weak" if _attached_pronoun(word, key) else "content"


def _attached_pronoun(word: str, key: str) -> bool:
    """A verb or noun with an attached pronoun (استقبله، زيارتها، عددهم); ة is never one, ال-words take none."""
    stem = word[1:] if word[:1] in ("و", "ف") and len(word) > 4 else word
    if stem.startswith(("ال", "بال", "لل", "كال")) or key in _AR_OWN_ENDINGS:
        return False
    return any(stem.endswith(s) and len(stem) - len(s) >= 3 for s in _AR_SUFFIXES)


def _is_content(key: str) -> bool:
    return len(key) > 1 and not arabic.is_stopword(key) and key not in _AR_QUESTION_WORDS


def _en_kind(key: str, before: list[str], rest: list[str]) -> str:
    if key in _EN_PERSONAL:
        expletive = key == "it" and rest[:1] and rest[0] in _EN_EXPLETIVE_NEXT
        return "function" if expletive else "weak"
    if key in _EN_DEMONSTRATIVES:
        return "function" if rest[:1] and rest[0] in _EN_TIME else "ref"
    if key == "that":
        return "ref" if not rest or (before and before[-1] in _EN_BEFORE_THAT) else "function"
    return "function" if arabic.is_stopword(key) or key in _EN_FUNCTION or len(key) < 2 else "content"


def read(question: str) -> Reading:
    """Content words and dangling references of ``question`` (see the module docstring for the rules)."""
    surface = [m.group() for m in _WORD.finditer(arabic.strip_marks(question))]
    keys = [arabic.normalize(w) for w in surface]
    words: list[str] = []
    dangling: list[str] = []
    for i, (word, key) in enumerate(zip(surface, keys, strict=True)):
        latin = bool(re.match("[A-Za-z]", word))
        kind = _en_kind(key, keys[:i], keys[i + 1:]) if latin else _ar_kind(word, key, keys[:i], keys[i + 1:])
        if kind == "content":
            words.append(word)
        elif kind == "ref" or (kind == "weak" and not _carried(surface[:i], len(words), latin)):
            dangling.append(word)
    text = " ".join(keys)
    ellipsis = bool(_AR_ELLIPSIS.match(text) or _EN_ELLIPSIS.match(text))
    return Reading(tuple(words), tuple(dangling), ellipsis, bool(keys) and _continues(keys))


def _continues(keys: list[str]) -> bool:
    """Starts like a continuation: "and ...", "وما ...", "فكيف ...", or one word after و/ف ("وروسيا؟")."""
    first = keys[0]
    if first in ("and", "so", "و", "ف"):
        return True
    return first[:1] in ("و", "ف") and (first[1:] in _AR_QUESTION_WORDS or len(keys) == 1)


def _carried(before: list[str], content_before: int, latin: bool) -> bool:
    """Whether an attached pronoun can refer to a name earlier in the same question."""
    if latin:
        return any(w[:1].isupper() for w in before[1:])  # a capitalised name after the first word
    return content_before >= 2


def overlap(words: Sequence[str], text: str) -> float:
    """Share of ``words`` (by normalised stem) that ``text`` also contains."""
    if not words:
        return 0.0
    other = set(arabic.analyze(text))
    return sum(1 for w in words if arabic.stem(arabic.normalize(w)) in other) / len(words)


def _last_user(history: Sequence[Turn]) -> int | None:
    return next((i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None)


def needs_history(question: str, history: Sequence[Turn]) -> bool:
    """True when ``question`` cannot be searched alone: it refers to, or continues, the last turn."""
    last = _last_user(history)
    if last is None:
        return False
    reading = read(question)
    if reading.dangling or reading.ellipsis or not reading.words:
        return True
    if reading.continues and len(reading.words) <= 1:
        return True
    return reading.continues and len(reading.words) == 2 and overlap(reading.words, history[last].content) >= 0.5


def referent(history: Sequence[Turn]) -> str:
    """What a follow-up refers to: the content words of the last user question (itself resolved against the
    turns before it), or, when it had none, the first source title of the answer that followed (an OpenAI
    client sends back the "Sources:" footer)."""
    last = _last_user(history)
    if last is None:
        return ""
    previous = resolve(history[last].content, history[max(0, last - _MAX_TURNS):last])
    words = read(previous).words
    if words:
        return " ".join(words[:_MAX_REFERENT_WORDS])
    return next((t for turn in history[last + 1:] if turn.role == "assistant" for t in _titles(turn.content)), "")


def _titles(answer: str) -> list[str]:
    _, marker, footer = answer.rpartition("Sources:")
    if not marker:
        return []
    return [m.group(1) for line in footer.splitlines() if (m := _SOURCE_LINE.match(line.strip()))]


def resolve(question: str, history: Sequence[Turn]) -> str:
    """The question as it is when self-contained; else the question and its referent's words it lacks."""
    if not needs_history(question, history):
        return question
    reading = read(question)
    words = referent(history).split()
    if reading.ellipsis and reading.words:  # "وماذا عن روسيا؟": the new focus takes the place of the last
        words = words[: max(1, min(3, len(words) // 2))]  # question's trailing words; its frame stays
    present = set(arabic.tokenize(question))
    extra = [w for w in words if arabic.normalize(w) not in present]
    return f"{question} {' '.join(extra)}" if extra else question
