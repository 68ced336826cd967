"""HTTP routers of the touch scheduler service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
