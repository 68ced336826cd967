"""HTTP routers of the loyalty service, one module per resource."""

from fastapi import APIRouter

from wafa_loyalty.api import coupons, economics, inbound, members, programs, purchases, rewards

ROUTERS: list[APIRouter] = [programs.router, purchases.router, members.router, rewards.router, coupons.router, inbound.router, economics.router]
