"""The touch scheduler's rules as plain functions: timing, materialisation, fatigue, holdout."""
