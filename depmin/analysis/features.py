"""Distributions a framework imports by itself when a feature is used, with no import statement
in the user's code. Each entry is a fact about that framework, checked by a test.

- FastAPI's `Form`, `File` and `UploadFile` parameters make FastAPI import `python_multipart`
  when the route is declared (it fails at startup without it).
- Starlette's `await request.form()` (also FastAPI's Request) imports `python_multipart`.
"""

from __future__ import annotations

# (module, imported name) → distribution
IMPORTED_NAMES: dict[tuple[str, str], str] = {
    ("fastapi", "Form"): "python-multipart",
    ("fastapi", "File"): "python-multipart",
    ("fastapi", "UploadFile"): "python-multipart",
    ("fastapi.param_functions", "Form"): "python-multipart",
    ("fastapi.param_functions", "File"): "python-multipart",
}
# method (see depmin.scan.core._FEATURE_METHODS) → (frameworks whose import makes it theirs, distribution)
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "form": (("starlette", "fastapi"), "python-multipart"),
}
