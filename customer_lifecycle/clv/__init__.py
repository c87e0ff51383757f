"""Customer-lifetime-value models: BG/NBD purchase counts, Gamma-Gamma spend, and the series
reference for scoring them in SQL.

  bgnbd        BG/NBD fit on grouped (x, t_x, T) summaries; P(alive); expected purchases
  gamma_gamma  Gamma-Gamma fit on repeat buyers' (x, mean repeat value); expected spend
  hyp2f1       truncated 2F1 series, the BG/NBD expectation by series, predicted_clv
  cdnow        the CDNOW sample: loader, calibration summaries, conversion to the raw contract
  errors       CLVError, CLVFitError (with reason codes), SeriesConvergenceError
"""
from customer_lifecycle.clv.errors import CLVError, CLVFitError, SeriesConvergenceError
from customer_lifecycle.clv.hyp2f1 import predicted_clv

__all__ = ["CLVError", "CLVFitError", "SeriesConvergenceError", "predicted_clv"]
