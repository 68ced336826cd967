"""Question definitions, answer validation and scoring (no I/O).

Every text is multilingual: a `{language: text}` map that must hold at least Arabic (`ar`,
right-to-left) and English (`en`). Answers are validated against the exact version they were
invited to; a hidden question (its `show_if` is false) must not be answered; a required
visible question must be answered on completion.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

REQUIRED_LANGUAGES = ("ar", "en")
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
QuestionType = Literal["nps", "csat", "ces", "likert", "attribute", "single_choice", "multiple_choice", "numeric", "text", "demographic"]
FIXED_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _check_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in REQUIRED_LANGUAGES if not (value.get(lang) or "").strip()]
    if missing:
        raise ValueError(f"text is missing in {', '.join(missing)} (every text needs at least ar and en)")
    return value


Text = Annotated[dict[str, Annotated[str, Field(max_length=2000)]], Field(examples=[{"ar": "ما مدى رضاك؟", "en": "How satisfied are you?"}])]


class Option(BaseModel):
    value: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:+-]+$")
    label: Text

    _langs = field_validator("label")(_check_languages)


class ShowIf(BaseModel):
    """Show the question only when an earlier answer matches: `in` (choices or numbers), `gte`, `lte`."""

    question: str
    in_: list[str | int] | None = Field(None, alias="in")
    gte: Decimal | None = None
    lte: Decimal | None = None

    model_config = {"populate_by_name": True}

    def holds(self, answers: dict[str, Any]) -> bool:
        value = answers.get(self.question)
        if value is None:
            return False
        values = value if isinstance(value, list) else [value]
        if self.in_ is not None and not any(str(v) in {str(x) for x in self.in_} for v in values):
            return False
        try:
            if self.gte is not None and not Decimal(str(value)) >= self.gte:
                return False
            if self.lte is not None and not Decimal(str(value)) <= self.lte:
                return False
        except (ArithmeticError, ValueError, TypeError):
            return False
        return True


class Question(BaseModel):
    """One question. `attribute` questions ask one attribute's satisfaction and importance on
    1..`points`; `likert` items sharing a `scale` name form a multi-item scale (Cronbach's alpha);
    `demographic` questions are single choices stored under their `id` for filters and cross-tabs."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    type: QuestionType
    text: Text
    required: bool = False
    show_if: ShowIf | None = None
    options: list[Option] = []
    randomize_options: bool = False
    points: int | None = Field(None, description="Scale points of likert (5 or 7) and attribute (default 5) questions.")
    scale: str | None = Field(None, max_length=100, description="Name of the multi-item scale a likert item belongs to.")
    attribute: str | None = Field(None, max_length=100, description="Attribute name of an `attribute` question (defaults to its id).")
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int = Field(2000, ge=1, le=10000)

    _langs = field_validator("text")(_check_languages)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type in ("single_choice", "multiple_choice", "demographic"):
            if len(self.options) < 2:
                raise ValueError(f"a {self.type} question needs at least two options")
            if len({o.value for o in self.options}) != len(self.options):
                raise ValueError("option values must be unique")
        elif self.options:
            raise ValueError(f"a {self.type} question takes no options")
        if self.type == "likert" and self.points not in (5, 7):
            raise ValueError("a likert question needs points 5 or 7")
        if self.type == "attribute" and self.points is None:
            self.points = 5
        if self.type == "attribute" and self.attribute is None:
            self.attribute = self.id
        return self

    def bounds(self) -> tuple[int, int] | None:
        if self.type in FIXED_SCALES:
            return FIXED_SCALES[self.type]
        if self.type in ("likert", "attribute"):
            return (1, self.points or 5)
        return None

    def localized(self, language: str, seed: int) -> dict[str, Any]:
        """The question as shown in one language (falls back to English), options shuffled
        reproducibly per respondent when `randomize_options`."""
        options = [{"value": o.value, "label": o.label.get(language) or o.label["en"]} for o in self.options]
        if self.randomize_options:
            random.Random(f"{seed}:{self.id}").shuffle(options)
        out = self.model_dump(mode="json", by_alias=True, exclude={"text", "options"})
        out["text"] = self.text.get(language) or self.text["en"]
        out["options"] = options
        return out


class SurveyDefinition(BaseModel):
    """The questions of one version, checked as a whole (unique ids, skip logic points back)."""

    questions: list[Question] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _coherent(self) -> SurveyDefinition:
        seen: set[str] = set()
        attributes: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id} is used twice")
            if q.show_if is not None and q.show_if.question not in seen:
                raise ValueError(f"question {q.id} shows if {q.show_if.question}, which is not an earlier question")
            if q.type == "attribute":
                if q.attribute in attributes:
                    raise ValueError(f"attribute {q.attribute} is asked twice")
                attributes.add(q.attribute or q.id)
            seen.add(q.id)
        return self


class AnswerError(Exception):
    """Answers that break the version's rules; `errors` name each field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def _err(qid: str, message: str) -> dict[str, str]:
    return {"field": f"answers.{qid}", "in": "body", "message": message}


def _int_in(value: Any, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if lo <= value <= hi else None


def validate_answers(questions: list[Question], answers: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """Check `answers` against `questions`; return them normalised. Raises `AnswerError`
    listing every problem: unknown or hidden questions, wrong types, out-of-range values,
    and (on completion) missing required answers."""
    errors: list[dict[str, str]] = []
    by_id = {q.id: q for q in questions}
    for qid in answers:
        if qid not in by_id:
            errors.append(_err(qid, f"{qid} is not a question of this survey version"))
    clean: dict[str, Any] = {}
    for q in questions:
        visible = q.show_if is None or q.show_if.holds(clean)
        value = answers.get(q.id)
        if value is None:
            if visible and q.required and complete:
                errors.append(_err(q.id, "an answer is required"))
            continue
        if not visible:
            errors.append(_err(q.id, "this question is hidden by its skip logic and must not be answered"))
            continue
        normalised, message = _check_one(q, value)
        if message:
            errors.append(_err(q.id, message))
        else:
            clean[q.id] = normalised
    if errors:
        raise AnswerError(errors)
    return clean


def _check_one(q: Question, value: Any) -> tuple[Any, str | None]:
    bounds = q.bounds()
    if q.type == "attribute":
        assert bounds is not None
        if not isinstance(value, dict) or set(value) != {"satisfaction", "importance"}:
            return None, "expected {satisfaction, importance}"
        for part in ("satisfaction", "importance"):
            if _int_in(value[part], *bounds) is None:
                return None, f"{part} must be an integer from {bounds[0]} to {bounds[1]}"
        return {"satisfaction": value["satisfaction"], "importance": value["importance"]}, None
    if bounds is not None:
        if _int_in(value, *bounds) is None:
            return None, f"must be an integer from {bounds[0]} to {bounds[1]}"
        return value, None
    allowed = {o.value for o in q.options}
    if q.type in ("single_choice", "demographic"):
        if not isinstance(value, str) or value not in allowed:
            return None, f"must be one of {sorted(allowed)}"
        return value, None
    if q.type == "multiple_choice":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v in allowed for v in value) or len(set(value)) != len(value):
            return None, f"must be a non-empty list of distinct options from {sorted(allowed)}"
        return value, None
    if q.type == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "must be a number"
        number = Decimal(str(value))
        if (q.min is not None and number < q.min) or (q.max is not None and number > q.max):
            return None, f"must be between {q.min} and {q.max}"
        return value, None
    if not isinstance(value, str) or not value.strip():
        return None, "must be non-empty text"
    if len(value) > q.max_length:
        return None, f"must be at most {q.max_length} characters"
    return value, None


def nps_category(score: int) -> str:
    """Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld, 2003)."""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


class Scores(BaseModel):
    nps: int | None = None
    nps_category: str | None = None
    csat: Decimal | None = None
    ces: Decimal | None = None
    attributes: dict[str, dict[str, Decimal]] = {}
    demographics: dict[str, str] = {}


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.001"))


def score(questions: list[Question], answers: dict[str, Any]) -> Scores:
    """Scores of a completed response: the first NPS answer, the mean of CSAT and of CES
    answers, each attribute's satisfaction and importance, the demographic answers."""
    nps = next((answers[q.id] for q in questions if q.type == "nps" and q.id in answers), None)
    csat = _mean([answers[q.id] for q in questions if q.type == "csat" and q.id in answers])
    ces = _mean([answers[q.id] for q in questions if q.type == "ces" and q.id in answers])
    attributes = {
        q.attribute or q.id: {k: Decimal(answers[q.id][k]) for k in ("satisfaction", "importance")}
        for q in questions
        if q.type == "attribute" and q.id in answers
    }
    demographics = {q.id: answers[q.id] for q in questions if q.type == "demographic" and q.id in answers}
    return Scores(
        nps=nps,
        nps_category=nps_category(nps) if nps is not None else None,
        csat=csat,
        ces=ces,
        attributes=attributes,
        demographics=demographics,
    )


def value_rows(questions: list[Question], answers: dict[str, Any]) -> list[tuple[str, str, Decimal | None, str | None]]:
    """The scored items of a response as (question_id, part, num, choice) rows; free text is
    not an item (it stays in the raw answers only)."""
    rows: list[tuple[str, str, Decimal | None, str | None]] = []
    for q in questions:
        if q.id not in answers:
            continue
        value = answers[q.id]
        if q.type == "attribute":
            rows.append((q.id, "satisfaction", Decimal(value["satisfaction"]), None))
            rows.append((q.id, "importance", Decimal(value["importance"]), None))
        elif q.type == "multiple_choice":
            rows.extend((q.id, "value", None, v) for v in value)
        elif q.type in ("single_choice", "demographic"):
            rows.append((q.id, "value", None, value))
        elif q.type != "text":
            rows.append((q.id, "value", Decimal(str(value)), None))
    return rows
