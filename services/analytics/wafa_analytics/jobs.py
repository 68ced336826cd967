"""Time-driven work of the analytics service."""

from wafa_analytics import clv_fits
from wafa_shared.jobs import Job

JOBS = [Job("clv-fit", 5.0, clv_fits.run_queued, "Run queued CLV fits (BG/NBD + Gamma-Gamma), store results, flag at-risk customers.")]
