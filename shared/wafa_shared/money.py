"""Money: exact decimals with an ISO 4217 currency, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel

# Active ISO 4217 codes with their minor units (decimal places).
MINOR_UNITS: dict[str, int] = {
    "AED": 2,
    "AFN": 2,
    "ALL": 2,
    "AMD": 2,
    "AOA": 2,
    "ARS": 2,
    "AUD": 2,
    "AZN": 2,
    "BAM": 2,
    "BDT": 2,
    "BGN": 2,
    "BHD": 3,
    "BRL": 2,
    "BYN": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "DZD": 2,
    "EGP": 2,
    "ETB": 2,
    "EUR": 2,
    "GBP": 2,
    "GEL": 2,
    "GHS": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "IQD": 3,
    "IRR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KES": 2,
    "KRW": 0,
    "KWD": 3,
    "KZT": 2,
    "LBP": 2,
    "LKR": 2,
    "LYD": 3,
    "MAD": 2,
    "MXN": 2,
    "MYR": 2,
    "NGN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "RUB": 2,
    "SAR": 2,
    "SDG": 2,
    "SEK": 2,
    "SGD": 2,
    "SYP": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "UZS": 2,
    "VND": 0,
    "YER": 2,
    "ZAR": 2,
}


def _check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown ISO 4217 currency code {code!r}")
    return code


Currency = Annotated[str, AfterValidator(_check_currency)]


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (banker's rounding)."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]), rounding=ROUND_HALF_EVEN)


class Money(BaseModel):
    amount: Decimal
    currency: Currency

    def __str__(self) -> str:
        return f"{quantize(self.amount, self.currency)} {self.currency}"
