"""The chat's date range (two small "from / to" boxes) as search filters, and what a bad date tells the user.

The facade's ``SearchFilters`` is the one judge of a date bound (``rag.dates`` parses YYYY, YYYY-MM,
YYYY-MM-DD and full Arabic or Latin dates, and refuses a backwards range with ``InvalidDateError``); this
module only trims the boxes and turns that error into a sentence in the user's language, naming the box
that is wrong, because the library's message is English and written for developers.
"""

from __future__ import annotations

from rag.errors import InvalidDateError
from rag.types import SearchFilters

__all__ = ["date_filters", "date_error_text", "DATE_HINT", "UNDATED_OUTSIDE"]

#: the boxes' placeholder: the shapes a bound may take
DATE_HINT = "YYYY[-MM[-DD]]"

# Warnings are plain text in a left-to-right toast: an Arabic message is one right-to-left isolate (RLI … PDI), and
# each ISO date and each typed value its own isolate (LRI / FSI … PDI); otherwise the bidi algorithm shows
# "2016-11-18" beside Arabic words as "18-11-2016" and moves the full stop to the wrong end.
_LRI, _FSI, _RLI, _PDI = "\u2066", "\u2068", "\u2067", "\u2069"
_BAD_DATE = {
    "ar": "تاريخ غير صالح في خانة «{box}»: «{value}». اكتب السنة أو السنة-الشهر أو السنة-الشهر-اليوم، مثل "
          f"{_LRI}2016{_PDI} أو {_LRI}2016-11{_PDI} أو {_LRI}2016-11-18{_PDI}.",
    "en": "Not a date in the “{box}” box: “{value}”. Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2016, 2016-11 or 2016-11-18.",
}
_BACKWARDS = {
    "ar": "نطاق التاريخ ينتهي قبل أن يبدأ ({start} بعد {end}): بدّل التاريخين.",
    "en": "The date range ends before it starts ({start} is after {end}): swap the two dates.",
}
_BOXES = {"ar": ("من", "إلى"), "en": ("from", "to")}

#: under a refusal while a range is set: articles of unknown date never fall inside one (rag.dates.filter_days)
UNDATED_OUTSIDE = {
    "ar": "ℹ نطاق التاريخ مفعّل: لا تدخل فيه إلا المقالات المعروف تاريخ نشرها. أفرغ خانتي التاريخ للبحث في كل المقالات.",
    "en": "ℹ A date range is set: only articles with a known publication date fall inside it. Empty both date boxes "
          "to search every article.",
}


def _clean(value: object) -> str | None:
    """A box's text, trimmed; None when empty (an open side). Anything that is not text counts as given,
    so a client's wrong type is refused by the date check rather than silently ignored."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None


def date_filters(date_from: object = None, date_to: object = None) -> SearchFilters | None:
    """Filters for the range in the boxes (either side may be open); None when both are empty.
    Raises ``InvalidDateError`` for a bound that is not a date or a range that ends before it starts."""
    start, end = _clean(date_from), _clean(date_to)
    if start is None and end is None:
        return None
    return SearchFilters(published_from=start, published_to=end)


def date_error_text(date_from: object, date_to: object, lang: str) -> str:
    """The message for a range ``date_filters`` refused, in ``lang`` ("ar" or "en"): which box holds
    something that is not a date, else that the range is backwards. Plain text, direction-isolated."""
    lang = lang if lang in _BAD_DATE else "en"
    start, end = _clean(date_from), _clean(date_to)
    message = _BACKWARDS[lang].format(start=_isolated(start), end=_isolated(end))
    for box, value in zip(_BOXES[lang], (start, end), strict=True):
        if value is None:
            continue
        try:
            SearchFilters(published_from=value)
        except InvalidDateError:
            message = _BAD_DATE[lang].format(box=box, value=_isolated(value))
            break
    return f"{_RLI}{message}{_PDI}" if lang == "ar" else message


def _isolated(value: str | None) -> str:
    """What the user typed, isolated so its own direction (digits, Arabic words) cannot reorder the message."""
    return f"{_FSI}{value}{_PDI}"
