"""Decoding a page's line probabilities as one sequence (`line_decoding.py`, learned.v4).

The decoders here are fitted on label sequences the tests write; the probabilities are made up so
that each test isolates one effect of the page's shape.
"""

from __future__ import annotations

import json

import numpy as np

from pipeline.ingest.line_decoding import SequenceDecoder, page_states

#: A page as the training pages look: chrome, an article with sub-headings, related links.
ARTICLE = [0] * 6 + [1, 1, 2, 1, 1, 1, 2, 1, 1, 0, 1, 2, 1, 1] + [0] * 6


def _decoder(**settings: float) -> SequenceDecoder:
    return SequenceDecoder.fit([np.asarray(ARTICLE)] * 20, "page", **settings)


def _probabilities(rows: list[tuple[float, float, float]]) -> np.ndarray:
    return np.asarray(rows, dtype=float)


PARAGRAPH = (0.1, 0.85, 0.05)
CHROME = (0.9, 0.08, 0.02)


def test_page_states_split_other_lines_by_their_place_on_the_page() -> None:
    states = page_states(np.asarray([0, 0, 1, 0, 2, 1, 0, 0]), "page")
    assert states.tolist() == [0, 0, 1, 3, 2, 1, 4, 4]
    assert page_states(np.asarray([0, 0, 1, 0, 2, 1, 0, 0]), "flat").tolist() == [0, 0, 1, 0, 2, 1, 0, 0]
    assert page_states(np.asarray([0, 0, 0]), "page").tolist() == [0, 0, 0]


def test_a_short_line_between_paragraphs_is_a_heading_where_the_same_line_amid_chrome_is_not() -> None:
    decoder = _decoder(prior_weight=0.0)  # the posteriors as they are: the page's shape decides
    unsure = (0.55, 0.1, 0.35)  # alone, the line model would call it other
    in_article = _probabilities([CHROME] * 4 + [PARAGRAPH] * 3 + [unsure] + [PARAGRAPH] * 3 + [CHROME] * 4)
    amid_chrome = _probabilities([CHROME] * 4 + [unsure] + [CHROME] * 4 + [PARAGRAPH] * 3 + [CHROME] * 3)
    assert decoder.decode(in_article)[7] == 2
    assert decoder.decode(amid_chrome)[4] == 0
    assert _decoder().decode(amid_chrome)[4] == 0  # divided by the priors, too
    assert _decoder(transition_weight=0.0).decode(amid_chrome)[4] == 2  # without the shape: a heading
    assert decoder.decode(in_article)[:4].tolist() == [0, 0, 0, 0]
    assert decoder.decode(in_article)[8:11].tolist() == [1, 1, 1]


def test_the_heading_bias_trades_headings_against_other_lines() -> None:
    weak = (0.7, 0.1, 0.2)
    page = _probabilities([CHROME] * 3 + [PARAGRAPH] * 3 + [weak] + [PARAGRAPH] * 3 + [CHROME] * 3)
    assert _decoder(heading_bias=3.0).decode(page)[6] == 2
    assert _decoder(heading_bias=-3.0).decode(page)[6] != 2


def test_a_line_the_rules_drop_by_its_words_pays_to_become_text() -> None:
    caption = (0.6, 0.38, 0.02)  # a photo caption amid the article: the shape pulls it into the text
    page = _probabilities([CHROME] * 3 + [PARAGRAPH] * 3 + [caption] + [PARAGRAPH] * 3 + [CHROME] * 3)
    dropped = np.zeros(len(page), dtype=bool)
    dropped[6] = True
    free = _decoder(prior_weight=1.0)
    assert free.decode(page)[6] == 1
    assert free.with_settings(dropped_penalty=4.0).decode(page, dropped)[6] == 0
    assert free.with_settings(dropped_penalty=4.0).decode(page)[6] == 1  # no mask: nothing to pay


def test_a_decoder_survives_json_and_decodes_the_same() -> None:
    decoder = _decoder(heading_bias=0.5, transition_weight=0.75, dropped_penalty=8.0)
    again = SequenceDecoder.from_dict(json.loads(json.dumps(decoder.as_dict())))
    assert again == decoder
    page = _probabilities([CHROME] * 3 + [PARAGRAPH, (0.5, 0.1, 0.4), PARAGRAPH, PARAGRAPH] + [CHROME] * 2)
    assert again.decode(page).tolist() == decoder.decode(page).tolist()
    assert decoder.decode(np.zeros((0, 3))).tolist() == []


def test_transitions_are_counted_from_the_labelled_pages() -> None:
    decoder = _decoder()
    transitions = np.exp(np.asarray(decoder.transitions))
    assert np.allclose(transitions.sum(axis=1), 1.0)
    chrome, paragraph, heading, inside, related = range(5)
    assert transitions[heading, paragraph] > 0.9  # a sub-heading is followed by its text
    assert transitions[related, paragraph] < 0.05  # nothing comes back from the related links
    assert transitions[chrome, inside] < 0.05
    assert np.argmax(decoder.start) == chrome
