"""HTTP routers of the survey service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
