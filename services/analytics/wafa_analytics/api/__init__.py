"""HTTP routers of the analytics service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
