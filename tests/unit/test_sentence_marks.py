"""Sentence splitting at a full stop glued to the next Arabic word, and around the year marks م / هـ / ق.م."""

from __future__ import annotations

import pytest

from rag.arabic import sentence_spans, split_sentences


@pytest.mark.parametrize("text, expected", [
    # a stop glued to the next word (".والشهر" once produced a 470-character quote)
    ("انتهى يناير.والشهر المقبل سيكون أفضل.", ["انتهى يناير.", "والشهر المقبل سيكون أفضل."]),
    # the year mark ends the sentence, attached or spaced, with or without a space after the stop
    ("تأسست عام 2016م. وقال المدير إن العمل مستمر.", ["تأسست عام 2016م.", "وقال المدير إن العمل مستمر."]),
    ("تأسست عام 2016 م. وقال المدير شيئا.", ["تأسست عام 2016 م.", "وقال المدير شيئا."]),
    ("توفي سنة 632م.وقال المؤرخون ذلك.", ["توفي سنة 632م.", "وقال المؤرخون ذلك."]),
    ("توفي سنة 632 م.وقال المؤرخون ذلك.", ["توفي سنة 632 م.", "وقال المؤرخون ذلك."]),
    ("ولد في ٢٠١٦ م. وقال أبوه.", ["ولد في ٢٠١٦ م.", "وقال أبوه."]),
    ("في القرن 7 هـ. وقال المؤرخ.", ["في القرن 7 هـ.", "وقال المؤرخ."]),
    ("عاش عام 500 ق.م. ثم غادر.", ["عاش عام 500 ق.م.", "ثم غادر."]),
    # a year mark inside a sentence never splits it, nor does the mark become its own sentence
    ("ولد عام 1950م في القاهرة. ثم انتقل.", ["ولد عام 1950م في القاهرة.", "ثم انتقل."]),
    # a single letter that is not after a number is still an initial (م. أحمد, د. محمد)
    ("قال م. أحمد شيئا.", ["قال م. أحمد شيئا."]),
    ("وصل د.محمد أمس. ثم غادر.", ["وصل د.محمد أمس.", "ثم غادر."]),
    ("بلغ النمو 3.5 بالمئة. وقال الوزير.", ["بلغ النمو 3.5 بالمئة.", "وقال الوزير."]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_spans_are_offsets_into_the_text():
    text = "توفي سنة 632 م.وقال المؤرخون ذلك."
    assert sentence_spans(text) == [(0, 15), (15, 33)]
