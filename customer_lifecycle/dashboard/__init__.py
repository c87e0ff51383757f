"""The lifecycle dashboard: a Streamlit app over the published marts (`make dashboard`).

`data` reads the marts (read-only, a new connection per query), `app` draws the pages. Start it
with `python -m customer_lifecycle dashboard [--port N]`.
"""
from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).resolve().parent / "app.py"
