"""Survey rules as plain functions: questions and answers, scores, statistics, sampling."""
