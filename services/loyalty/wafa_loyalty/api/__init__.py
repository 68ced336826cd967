"""HTTP routers of the loyalty service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
