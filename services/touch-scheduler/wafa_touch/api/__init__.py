"""HTTP routers of the touch scheduler service, one module per resource."""

from fastapi import APIRouter

from wafa_touch.api import channels, ops, plans, policy, tasks, touches

ROUTERS: list[APIRouter] = [plans.router, touches.router, tasks.router, policy.router, channels.router, ops.router]
