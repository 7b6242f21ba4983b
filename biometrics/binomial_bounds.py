"""Exact one-sided binomial bounds (Clopper-Pearson) without scipy, a development-only dependency.

Plain Python: the regularized incomplete beta function by its continued fraction, its quantile by
bisection. Used by the gallery self-check (biometrics/identification.py, docs/decisions/0024).
"""

from __future__ import annotations

import math

CONFIDENCE = 0.95


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b): the cumulative distribution of Beta(a, b) at x."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def beta_quantile(probability: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = probability, by bisection (monotone, so exact to float precision)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if regularized_beta(middle, a, b) < probability:
            low = middle
        else:
            high = middle
    return high


def upper_bound(successes: float, trials: float, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound on a rate (trials may be an effective, non-whole count)."""
    if trials <= 0 or successes >= trials:
        return 1.0
    return beta_quantile(confidence, successes + 1.0, trials - successes)


def lower_bound(successes: float, trials: float, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson lower bound on a rate."""
    if trials <= 0 or successes <= 0:
        return 0.0
    if successes >= trials:
        return (1.0 - confidence) ** (1.0 / trials)
    return beta_quantile(1.0 - confidence, successes, trials - successes + 1.0)
