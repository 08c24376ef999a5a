"""The human survey a study runs: its settings (study.toml), its store (one
SQLite file), what each participant is asked (steps), the web server that asks
them, and the export.

Modules: settings (study.toml), codes (resume codes), steps (scenario questions,
attention checks and game settings in a participant's order), store (SQLite),
export (CSV files, codebook, spreadsheet safety). The web server: app (the ASGI
app), participant and organiser (their pages), pages and templates/ (Jinja2,
autoescaped), forms, device (device class), keys (the organiser's key), guard
(size limit, security headers), served (what a server serves), serve (uvicorn,
open-file budget; `python -m helpers survey serve`).
"""
