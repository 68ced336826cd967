"""Answer validation and scoring rules, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wafa_survey.domain.questions import AnswerError, Question, nps_category, score, validate_answers


def q(**kw: object) -> Question:
    return Question.model_validate({"text": {"ar": "س", "en": "q"}, **kw})


QUESTIONS = [
    q(id="channel", type="single_choice", required=True, options=[{"value": v, "label": {"ar": v, "en": v}} for v in ("web", "store")]),
    q(id="store_staff", type="csat", required=True, show_if={"question": "channel", "in": ["store"]}),
    q(id="nps", type="nps"),
    q(id="c1", type="csat"),
    q(id="c2", type="csat"),
    q(id="speed", type="attribute", attribute="delivery_speed", points=7),
]


def test_required_question_behind_skip_logic_is_required_only_when_shown() -> None:
    assert validate_answers(QUESTIONS, {"channel": "web"}, complete=True) == {"channel": "web"}
    with pytest.raises(AnswerError) as err:
        validate_answers(QUESTIONS, {"channel": "store"}, complete=True)
    assert err.value.errors == [{"field": "answers.store_staff", "in": "body", "message": "an answer is required"}]
    assert validate_answers(QUESTIONS, {"channel": "store"}, complete=False) == {"channel": "store"}


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(AnswerError) as err:
        validate_answers(QUESTIONS, {"channel": "web", "store_staff": 3, "nps": 10.5, "bogus": 1}, complete=True)
    assert {e["field"] for e in err.value.errors} == {"answers.bogus", "answers.store_staff", "answers.nps"}


def test_scores_average_csat_items_and_carry_attributes_on_their_own_scale() -> None:
    s = score(QUESTIONS, {"channel": "web", "nps": 8, "c1": 4, "c2": 5, "speed": {"satisfaction": 6, "importance": 7}})
    assert s.nps == 8 and s.nps_category == "passive"
    assert s.csat == Decimal("4.500") and s.ces is None
    assert s.attributes == {"delivery_speed": {"satisfaction": Decimal(6), "importance": Decimal(7)}}


@pytest.mark.parametrize(("score_", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_nps_categories_follow_reichheld(score_: int, category: str) -> None:
    assert nps_category(score_) == category
