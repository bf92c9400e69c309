"""Schemes, indicators, targets, appraisals, bonus and the performance pool (DOMAIN 3)."""
