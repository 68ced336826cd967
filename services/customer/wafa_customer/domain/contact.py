# ruff: noqa: RUF001, RUF002
"""Normalising contact details, so one person written two ways is recognised as one.

- Emails: syntax checked with `email-validator` (no DNS), stored lower-cased; the *canonical*
  form also drops `+tags` and, for Gmail, dots, and is what duplicate detection compares.
- Phones: parsed with `phonenumbers` in the customer's country (or the service default) and
  stored as E.164, so `+966 50 123 4567` and `0501234567` (SA) are the same `+966501234567`.
- Names: a search key that is case- and accent-insensitive, Arabic included: combining marks
  (harakat, tatweel) are removed and the letter variants people type interchangeably are
  folded (أ إ آ ٱ → ا, ة → ه, ى → ي, ؤ → و, ئ → ي), Arabic-Indic digits become ASCII.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import zoneinfo
from datetime import date
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ـ": None,  # tatweel
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)
_SPACES = re.compile(r"\s+")
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
REFERRAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I look-alikes


class InvalidContact(ValueError):
    """A contact detail that cannot be normalised; the message says why."""


def normalize_email(raw: str) -> str:
    """Lower-cased normalised address. Plain ASCII addresses (the vast majority) have their domain
    checked once per domain (cached); anything else goes through the full validator."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.match(local):
        return f"{local}@{_checked_domain(domain.lower())}".lower()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None
    return result.normalized.lower()


@lru_cache(maxsize=20_000)
def _checked_domain(domain: str) -> str:
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None


def canonical_email(email: str) -> str:
    """The mailbox an address delivers to, for duplicate detection (not for uniqueness)."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def normalize_phone(raw: str, region: str | None) -> str:
    """E.164 form of `raw`, read in `region` when it has no country code."""
    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number" + (f" in {region}" if region else ""))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search_key(*parts: str | None) -> str | None:
    """Case-, accent- and Arabic-variant-insensitive form of a name, for prefix search."""
    text = " ".join(p for p in parts if p)
    if not text.strip():
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(_ARABIC_FOLD))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFKC", stripped).translate(_ARABIC_FOLD).casefold()
    return _SPACES.sub(" ", folded).strip()


def phone_prefix_key(raw: str, region: str | None = None) -> str:
    """The E.164 prefix of a phone prefix typed in a search box: `+9665…` and `009665…` as they
    are; a national `05…` gets `region`'s country code instead of its trunk 0."""
    text = raw.translate(_ARABIC_FOLD).strip()
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0") and region:
        code = phonenumbers.country_code_for_region(region.upper())
        if code:
            return f"+{code}{digits[1:]}"
    return "+" + digits


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str) -> str:
    if value not in _zones():
        raise InvalidContact(f"{value!r} is not an IANA time zone (for example Asia/Riyadh)")
    return value


def check_country(value: str) -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidContact(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise InvalidContact(f"{value!r} is not a BCP 47 language tag (for example ar or ar-SA)")
    return value


def check_birth_date(value: date, today: date | None = None) -> date:
    today = today or date.today()
    if value > today:
        raise InvalidContact("a birth date cannot be in the future")
    if value.year < 1900:
        raise InvalidContact("a birth date before 1900 is not plausible")
    return value


def new_referral_code(length: int = 8) -> str:
    """A short code to share (32^8 ≈ 10^12 values, unguessable enough to not be enumerated).
    Each random byte picks a letter with its low 5 bits: 256 is a multiple of 32, so uniform."""
    return "".join(REFERRAL_ALPHABET[b & 31] for b in secrets.token_bytes(length))
