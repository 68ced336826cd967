"""HTTP routers of the customer service, one module per resource."""

from fastapi import APIRouter

from wafa_customer.api import custom_fields, customers, imports, referrals, segments

# `imports` first: its fixed paths under /v1/customers must win over /v1/customers/{id}.
ROUTERS: list[APIRouter] = [imports.router, customers.router, referrals.router, segments.router, custom_fields.router]
