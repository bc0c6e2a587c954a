"""CatBoost imported without pandas or scipy, for the serving processes: a cold start's largest import.

CatBoost's Python package imports pandas (and its compiled module does too) only to recognise
DataFrames among its inputs; when pandas cannot be imported, its own module uses stand-in
classes instead, and the compiled one is left with None, which it then trips over. It imports
scipy only for `scipy.sparse`, to recognise sparse matrices among its inputs (isinstance
checks against a handful of matrix classes); importing scipy.sparse drags in much of numpy's
test and array-API machinery besides. Serving gives CatBoost lists and numpy arrays only
(lambda_app.core.scoring), never a DataFrame or a sparse matrix, so the entry points import it
with pandas hidden and scipy.sparse replaced by a module of stand-in classes that no input is
an instance of, and hand the compiled module the same pandas stand-ins. Predictions and SHAP
values are the same C++ calls on the same inputs either way; the serving images leave scipy out.

Where pandas or scipy is loaded already (training, the tests), CatBoost is imported as usual;
so it is too wherever CatBoost was imported before this ran.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

# The scipy.sparse classes CatBoost refers to, at import (its compiled module's tuple of sparse
# matrix types) and in its input checks.
_SPARSE_CLASSES = (
    "spmatrix",
    "csr_matrix",
    "coo_matrix",
    "bsr_matrix",
    "csc_matrix",
    "dok_matrix",
    "lil_matrix",
    "dia_matrix",
)


def _stand_in_scipy() -> tuple[ModuleType, ModuleType]:
    scipy, sparse = ModuleType("scipy"), ModuleType("scipy.sparse")
    for name in _SPARSE_CLASSES:
        setattr(sparse, name, type(name, (), {"__doc__": "CatBoost's stand-in: no input is one"}))
    scipy.sparse = sparse  # type: ignore[attr-defined]
    return scipy, sparse


def import_catboost_lean() -> bool:
    """Import CatBoost without pandas and scipy unless one of them or CatBoost is loaded
    already; whether it did. Afterwards CatBoost treats no input as a DataFrame or a sparse
    matrix, even if pandas or scipy is imported later."""
    if any(name in sys.modules for name in ("catboost", "pandas", "scipy")):
        return False
    scipy, sparse = _stand_in_scipy()
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` raise ImportError
    sys.modules["scipy"], sys.modules["scipy.sparse"] = scipy, sparse
    try:
        core = importlib.import_module("catboost.core")
        compiled = importlib.import_module("catboost._catboost")
    finally:
        # CatBoost keeps its references to the stand-ins; anything else importing pandas or
        # scipy later gets the real ones.
        for name in ("pandas", "scipy", "scipy.sparse"):
            del sys.modules[name]
    compiled.pd = core.pd  # type: ignore[attr-defined]  # the stand-in DataFrame and Series classes
    return True
