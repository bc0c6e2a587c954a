"""Regression metrics, as pure functions of targets and predictions."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    err = t - p
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return {
        "r2": round(1.0 - ss_res / ss_tot, 5) if ss_tot else float("nan"),
        "mae": round(float(np.mean(np.abs(err))), 5),
        "rmse": round(float(np.sqrt(np.mean(err**2))), 5),
        "rows": int(t.size),
    }
