"""A synthetic retail business, generated without I/O so it is the same for the same seed.

Customers join over the months; each buys at their own rate and may drop out after any
purchase (the buy-till-you-die story that the analytics CLV models assume), so cohorts decay,
a few customers carry most of the profit, and RFM spreads out. A customer's satisfaction is a
latent trait: it raises their purchase rate and lowers their churn, and it drives their survey
answers, so NPS tells the truth about behaviour. Some customers refer friends; some friends buy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

GIVEN_NAMES = [
    ("Ahmed", "أحمد"), ("Fatimah", "فاطمة"), ("Mohammed", "محمد"), ("Noura", "نورة"), ("Khalid", "خالد"), ("Sara", "سارة"),
    ("Omar", "عمر"), ("Layla", "ليلى"), ("Yousef", "يوسف"), ("Huda", "هدى"), ("Abdullah", "عبدالله"), ("Mariam", "مريم"),
    ("Faisal", "فيصل"), ("Reem", "ريم"), ("Saad", "سعد"), ("Aisha", "عائشة"), ("Turki", "تركي"), ("Hessa", "حصة"),
]  # fmt: skip
FAMILY_NAMES = ["Alotaibi", "Alqahtani", "Alghamdi", "Alzahrani", "Aldosari", "Alshehri", "Alharbi", "Almutairi", "Alanazi", "Alsubaie"]
CITIES = [("Riyadh", 0.38), ("Jeddah", 0.27), ("Dammam", 0.15), ("Makkah", 0.1), ("Madinah", 0.1)]
CATEGORIES = [("groceries", 0.45, 60), ("home", 0.2, 180), ("beauty", 0.15, 120), ("fashion", 0.12, 250), ("electronics", 0.08, 900)]
DAY = timedelta(days=1)


@dataclass
class Line:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal


@dataclass
class Purchase:
    order_id: str
    occurred_at: datetime
    lines: list[Line]
    channel: str
    store: str


@dataclass
class Answer:
    submitted_at: datetime
    nps: int
    csat: int
    attributes: dict[str, tuple[int, int]]  # attribute -> (satisfaction, importance)


@dataclass
class Person:
    key: str  # stable within a seed: idempotency keys and order ids derive from it
    given_name: str
    family_name: str
    email: str
    phone: str
    language: str
    city: str
    birth_date: date
    joined_at: datetime
    satisfaction: float  # latent, 0..1
    consents: bool  # to email, SMS and calls
    purchases: list[Purchase] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    referred: list[Person] = field(default_factory=list)  # friends this customer referred


@dataclass
class Business:
    seed: int
    start: datetime
    end: datetime
    customers: list[Person]

    @property
    def referees(self) -> list[tuple[Person, Person]]:
        return [(c, f) for c in self.customers for f in c.referred]

    @property
    def purchases(self) -> int:
        return sum(len(p.purchases) for c in self.customers for p in [c, *c.referred])


def generate(customers: int, months: int, seed: int, now: datetime | None = None) -> Business:
    """`customers` joining over the last `months` months up to the start of `now`'s day (UTC).
    The same seed on the same day gives the same business, keys and order ids included."""
    rng = random.Random(seed)
    day = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = day - timedelta(hours=1)
    start = end - timedelta(days=round(months * 30.4))
    people = []
    for i in range(customers):
        joined = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds() * 0.95))
        person = _person(rng, f"{seed}-{day:%Y%m%d}-{i}", joined)
        _purchase_history(rng, person, end)
        _survey_answers(rng, person, end)
        people.append(person)
    # Referrals are recent (the API dates a referral when it is made): active advocates, friends
    # who joined in the last six weeks, about half of whom have bought since.
    for i, advocate in enumerate(people):
        active = advocate.purchases and advocate.purchases[-1].occurred_at > end - timedelta(days=120)
        if active and rng.random() < 0.04 + 0.16 * advocate.satisfaction:
            friend = _person(rng, f"{seed}-{day:%Y%m%d}-{i}-r", end - timedelta(days=rng.uniform(1, 42)))
            if rng.random() < 0.55:
                _purchase_history(rng, friend, end)
            advocate.referred.append(friend)
    return Business(seed, start, end, people)


def _person(rng: random.Random, key: str, joined: datetime) -> Person:
    given_en, given_ar = rng.choice(GIVEN_NAMES)
    family = rng.choice(FAMILY_NAMES)
    arabic = rng.random() < 0.7
    city = rng.choices([c for c, _ in CITIES], [w for _, w in CITIES])[0]
    return Person(
        key=key,
        given_name=given_ar if arabic else given_en,
        family_name=family,
        email=f"{given_en.lower()}.{family.lower()}.{key}@demo.wafa.example",
        phone=f"+966{rng.choice((50, 53, 54, 55, 56, 58, 59))}{rng.randrange(1_000_000, 9_999_999)}",  # Saudi mobile ranges
        language="ar" if arabic else "en",
        city=city,
        birth_date=date(rng.randrange(1960, 2004), rng.randrange(1, 13), rng.randrange(1, 29)),
        joined_at=joined,
        satisfaction=rng.betavariate(4, 2),
        consents=rng.random() < 0.8,
    )


def _purchase_history(rng: random.Random, p: Person, end: datetime) -> None:
    """Purchases at the customer's own rate until they drop out (or the history ends)."""
    per_month = rng.gammavariate(1.5, 0.6) * (0.5 + p.satisfaction)
    churn = min(0.6, rng.betavariate(1.2, 6) * (1.6 - p.satisfaction))
    basket = rng.lognormvariate(0, 0.5)  # how big this customer's baskets are, relative to the category mean
    at = p.joined_at
    n = 0
    while at < end and n < 200:
        p.purchases.append(_purchase(rng, f"demo-{p.key}-{n}", at, basket))
        n += 1
        if rng.random() < churn:
            return
        at += timedelta(days=rng.expovariate(per_month / 30.4) if per_month > 0 else 10_000)


def _purchase(rng: random.Random, order_id: str, at: datetime, basket: float) -> Purchase:
    lines = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        name, _weight, mean = rng.choices(CATEGORIES, [w for _, w, _ in CATEGORIES])[0]
        price = Decimal(str(round(mean * basket * rng.uniform(0.6, 1.4), 2))).quantize(Decimal("0.01"))
        lines.append(Line(f"{name[:3].upper()}-{rng.randrange(100, 140)}", name, rng.choice((1, 1, 2)), max(price, Decimal("1.00"))))
    return Purchase(order_id, at, lines, rng.choice(("store", "store", "online", "app")), rng.choice(("RUH-01", "JED-02", "DMM-03", "online")))


def _survey_answers(rng: random.Random, p: Person, end: datetime) -> None:
    """About a third of buying customers answer the relationship survey once or twice."""
    for purchase in p.purchases[:2]:
        if rng.random() > 0.35:
            continue
        when = purchase.occurred_at + timedelta(days=rng.uniform(1, 10))
        if when >= end:
            continue
        s = min(1.0, max(0.0, rng.gauss(p.satisfaction, 0.15)))
        nps = min(10, max(0, round(s * 10 + rng.gauss(0.3, 1.2))))
        csat = min(5, max(1, round(1 + s * 4 + rng.gauss(0, 0.5))))
        attributes = {
            a: (min(5, max(1, round(1 + s * 4 + rng.gauss(bias, 0.7)))), imp) for a, bias, imp in (("price", -0.6, 5), ("staff", 0.3, 3), ("speed", 0, 4))
        }
        p.answers.append(Answer(when, nps, csat, attributes))
