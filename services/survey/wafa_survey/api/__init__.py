"""HTTP routers of the survey service, one module per resource."""

from fastapi import APIRouter

from wafa_survey.api import invitations, responses, results, surveys

ROUTERS: list[APIRouter] = [surveys.router, invitations.router, responses.router, results.router]
