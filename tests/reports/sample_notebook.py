"""A small marimo notebook for the report tests: one of everything the renderer
converts (headline card, callout, tables, widgets, a figure, console output) and the
hostile HTML it must neutralise. No model calls, so its export takes seconds."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="9.9 Sample report")

with app.setup:
    import html
    import json
    import sys

    import marimo as mo
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    HOSTILE = '<script>window.HACKED=1</script><img src=x onerror="window.HACKED=2"><b>bold?</b>'


@app.cell
def _():
    mo.md(r"""
    # 9.9 Sample report

    Prose with a [link to the paper](https://example.org/paper) and a remote image
    ![remote](https://example.org/tracker.png) that must not load.
    """)
    return


@app.cell
def _():
    card = {"version": 1, "section": "9.9", "title": "Sample report",
            "verdict": {"status": "not interpretable", "detail": "failed: control ≈ level 1"},
            "figures": [{"label": "mean absolute gap from human (illustrative data)", "value": "29.0%",
                         "kind": "illustrative"},
                        {"label": "significantly different buckets", "value": "39 of 60", "kind": "measured"}],
            "models": ["local/smollm2-135m-instruct"],
            "sources": [{"what": "human data", "kind": "illustrative", "detail": "generated, not people"},
                        {"what": "paper figures", "kind": "paper-reported", "detail": "quoted from the paper"}],
            "figure": 2}
    mo.Html(f"<div class=\"exceptions-headline\" data-headline='{html.escape(json.dumps(card))}'>"
            "<strong>Headline:</strong> 29.0% mean absolute gap</div>")
    return


@app.cell
def _():
    mo.callout(mo.md("**Validity:** not interpretable (sample callout)"), kind="danger")
    return


@app.cell
def _():
    model = mo.ui.text(value="local/smollm2-135m-instruct", label="models")
    levels = mo.ui.multiselect(options=["1", "2", "3"], value=["1", "3"], label="levels")
    mode = mo.ui.dropdown(options=["exact", "sample"], value="exact", label="mode")
    samples = mo.ui.number(start=1, stop=100, value=10, label="samples")
    kappa = mo.ui.slider(start=0, stop=1, step=0.1, value=0.5, label="kappa")
    control = mo.ui.checkbox(value=True, label="control")
    run = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([mo.hstack([model, levels, mode]), mo.hstack([samples, kappa, control]), run])
    return


@app.cell
def _():
    extra = mo.ui.dictionary({"rounds": mo.ui.number(value=3, label="rounds"),
                              "explain": mo.ui.checkbox(value=False, label="explain")})
    form = mo.ui.form(mo.ui.text_area(value="a note", label="note"))
    mo.vstack([extra, form, mo.download(data=b"x,y\n1,2\n", filename="d.csv", label="Download the data")])
    return


@app.cell
def _():
    rows = [{"participant": "p1", "answer": HOSTILE, "rate": 0.8771, "n": 45},
            {"participant": "p2", "answer": "plain & simple", "rate": float("nan"), "n": 58}]
    mo.vstack([mo.md("## Answers"), mo.ui.table(rows, selection=None, pagination=False)])
    return


@app.cell
def _():
    mo.ui.table([{"row": i, "value": i * i} for i in range(250)], selection=None, page_size=10)
    return


@app.cell
def _():
    _fig, _ax = plt.subplots(figsize=(6, 2.5))
    _ax.plot([1, 2, 3], [0.9, 0.6, 0.2])
    _ax.set_title("first figure")
    _fig
    return


@app.cell
def _():
    _fig, _ax = plt.subplots(figsize=(4, 3))
    _ax.bar(["a", "b"], [3, 5], color="tab:orange")
    _ax.set_title("second figure")
    _fig
    return


@app.cell
def _():
    print("printed to stdout: 42 answers")
    print("a warning on stderr", file=sys.stderr)
    mo.Html('<div onclick="window.HACKED=3" style="background:url(https://example.org/bg.png)">'
            '<iframe src="https://example.org/frame"></iframe>'
            '<link rel="stylesheet" href="https://example.org/style.css">'
            '<a href="javascript:window.HACKED=4">bad link</a> '
            '<img src="https://example.org/pixel.gif" srcset="https://example.org/p2.gif 2x">'
            'active content removed</div>')
    return


if __name__ == "__main__":
    app.run()
