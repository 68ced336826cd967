"""HTTP routers of the customer service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
