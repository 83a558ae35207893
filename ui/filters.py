"""The chat's date range (two small "from / to" boxes) as search filters, and what a bad date tells the user.

The facade's ``SearchFilters`` is the one judge of a date bound (``rag.dates`` parses YYYY, YYYY-MM,
YYYY-MM-DD and full Arabic or Latin dates, and refuses a backwards range with ``InvalidDateError``); this
module only trims the boxes and turns that error into a sentence in the user's language, naming the box
that is wrong, because the library's message is English and written for developers.
"""

from __future__ import annotations

from rag.errors import InvalidDateError
from rag.types import SearchFilters

__all__ = ["date_filters", "date_error_text", "DATE_HINT"]

#: the boxes' placeholder: the shapes a bound may take
DATE_HINT = "YYYY[-MM[-DD]]"

_BAD_DATE = {
    "ar": "تاريخ غير صالح في خانة «{box}»: «{value}». اكتب السنة أو السنة-الشهر أو السنة-الشهر-اليوم، مثل 2016 أو 2016-11 "
          "أو 2016-11-18.",
    "en": "Not a date in the “{box}” box: “{value}”. Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2016, 2016-11 or 2016-11-18.",
}
_BACKWARDS = {
    "ar": "نطاق التاريخ ينتهي قبل أن يبدأ ({start} بعد {end}): بدّل التاريخين.",
    "en": "The date range ends before it starts ({start} is after {end}): swap the two dates.",
}
_BOXES = {"ar": ("من", "إلى"), "en": ("from", "to")}


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
    something that is not a date, else that the range is backwards."""
    lang = lang if lang in _BAD_DATE else "en"
    start, end = _clean(date_from), _clean(date_to)
    for box, value in zip(_BOXES[lang], (start, end), strict=True):
        if value is None:
            continue
        try:
            SearchFilters(published_from=value)
        except InvalidDateError:
            return _BAD_DATE[lang].format(box=box, value=value)
    return _BACKWARDS[lang].format(start=start, end=end)
