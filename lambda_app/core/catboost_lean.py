"""CatBoost imported without pandas, for the serving processes: a cold start's largest import.

CatBoost's Python package imports pandas (and its compiled module does too) only to recognise
DataFrames among its inputs; when pandas cannot be imported, its own module uses stand-in
classes instead, and the compiled one is left with None, which it then trips over. Serving
gives CatBoost lists and numpy arrays only (lambda_app.core.scoring), never a DataFrame, so the
entry points import it with pandas hidden and hand the compiled module the same stand-ins.
Predictions and SHAP values are the same C++ calls on the same inputs either way.

Where pandas is loaded already (training, the tests), CatBoost is imported as usual; so it is
too wherever CatBoost was imported before this ran.
"""

from __future__ import annotations

import importlib
import sys


def import_catboost_without_pandas() -> bool:
    """Import CatBoost without pandas unless pandas or CatBoost is loaded already; whether it did.
    Afterwards CatBoost treats no input as a DataFrame, even if pandas is imported later."""
    if "catboost" in sys.modules or "pandas" in sys.modules:
        return False
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` raise ImportError
    try:
        core = importlib.import_module("catboost.core")
        compiled = importlib.import_module("catboost._catboost")
    finally:
        del sys.modules["pandas"]
    compiled.pd = core.pd  # type: ignore[attr-defined]  # the stand-in DataFrame and Series classes
    return True
