"""Exceptions of the customer-lifetime-value models."""
from __future__ import annotations


class CLVError(ValueError):
    """Base class of every error raised by customer_lifecycle.clv."""


class CLVFitError(CLVError):
    """A model could not be fitted to the data it was given.

    ``reason`` is a short code naming the problem; the message explains it in words.

    Reason codes:
      invalid_input          the summaries break the model's data definition (negative, NaN, recency > age, ...)
      too_few_customers      fewer customers (or repeat buyers) than the stated minimum
      not_converged          the optimiser stopped without reaching a maximum
      parameter_at_bound     an estimate ran to the edge of the search box (the data push the model
                             towards a limiting case it cannot represent)
      not_identified         the likelihood is flat or saddle-shaped at the optimum
      undefined_mean_spend   Gamma-Gamma q <= 1: the population mean spend per transaction is infinite
    """

    def __init__(self, reason: str, message: str):
        super().__init__(f"[{reason}] {message}")
        self.reason = reason


class SeriesConvergenceError(CLVError):
    """A truncated hypergeometric series did not meet its stopping rule within its term budget."""
