import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="External study: MoralExceptQA")

with app.setup:
    import marimo as mo

    from helpers.exceptions import experiment
    from helpers.humans import moralexceptqa
    from helpers.exceptions import plots
    from helpers.exceptions import stats
    from helpers.llm.engine import Limits
    from helpers.errors import UserError
    from helpers.notebook.gate import attempt, run_with_progress, spends_without_click
    from helpers.notebook.params import NotebookParams


@app.cell
def _():
    mo.md(r"""
    # External study: MoralExceptQA

    **Question:** does what we see on the paper's ten scenarios hold on human data
    that somebody else collected? MoralExceptQA (Jin et al., NeurIPS 2022) asked people
    whether it was acceptable for Hank to do something to his neighbour's property
    without permission when a stranger offers money for it, from $100 to $1,000,000,
    or threatens to kill his son if he refuses. Its `blue.house` study has nine such
    acts, each at those six conditions: the same design as the paper's six exception
    levels. Here a model answers the same 54 vignettes and is compared with the
    published human shares using the same statistics as in 2.1.
    """)
    return


@app.cell
def _():
    params = attempt(NotebookParams.from_cli, dict(mo.cli_args()))
    data = params if isinstance(params, UserError) else attempt(moralexceptqa.load_moralexceptqa, params.moralexceptqa)
    mo.stop(isinstance(data, UserError), mo.callout(mo.plain_text(f"MoralExceptQA not available: {data}"), kind="warn"))
    return data, params


@app.cell
def _(data):
    mo.callout(mo.md(f"""
    **Data and attribution.** {moralexceptqa.ATTRIBUTION}
    Read from `{data.path}` (never copied into this repository).
    """), kind="info")
    return


@app.cell
def _():
    _levels = "\n".join(f"| {i} | `{c}` | {label} |" for i, (c, label) in
                        enumerate(zip(moralexceptqa.CONDITIONS, moralexceptqa.LEVEL_LABELS), start=1))
    mo.md(f"""
    ## How the study maps onto exception levels

    | level | condition | what the stranger offers (or threatens) |
    |---|---|---|
    {_levels}

    Level 1 is the weakest reason to break the rule (people refuse it most), as in the
    paper. The human refusal rate is 1 - `human.response` (the share who found it
    acceptable); the model is asked *"{moralexceptqa.QUESTION}"* and "No" is its refusal.
    The file gives shares, not counts; each share is a whole number of answers out of
    about 60 people, and that number is recovered per vignette (column `n_note` below).
    """)
    return


@app.cell
def _(params):
    models_box = mo.ui.text(value=", ".join(params.models), label="models (provider/model, comma-separated)", full_width=True)
    mode_pick = mo.ui.dropdown(options=["exact", "sample"], value=params.mode, label="mode")
    samples_slider = mo.ui.slider(1, 200, value=params.samples, label="samples per bucket (sample mode)", show_value=True)
    max_cost_box = mo.ui.number(start=0, stop=100_000, step=0.5, value=params.max_cost, label="max cost ($)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([models_box, mo.hstack([mode_pick, samples_slider]), mo.hstack([max_cost_box, run_button])])
    return max_cost_box, mode_pick, models_box, run_button, samples_slider


@app.cell
def _(mode_pick, models_box, params, samples_slider):
    config = attempt(
        experiment.RunConfig,
        models=tuple(m.strip() for m in models_box.value.split(",") if m.strip()),
        mode=mode_pick.value, samples=samples_slider.value, temperature=params.temperature,
        base_url=params.base_url,
    )
    mo.stop(isinstance(config, UserError), mo.callout(mo.plain_text(f"Cannot run: {config}"), kind="danger"))
    limits = Limits(rpm=params.rpm)
    return config, limits


@app.cell
def _(config, data, limits):
    _guess = attempt(experiment.estimate, config, data.scenarios, limits)
    mo.stop(isinstance(_guess, UserError), mo.callout(mo.plain_text(f"Cannot estimate: {_guess}"), kind="danger"))
    mo.md(f"**Before the run button** (nothing spent yet):\n\n```\n{_guess.table()}\n```")
    return


@app.cell
def _(config, data, limits, max_cost_box, run_button):
    # As in 2.1: the cache is read for free; calls wait for the button unless
    # nobody can click (export, script), where the offline default runs.
    _spend = run_button.value or spends_without_click(mo.app_meta())
    result = run_with_progress(config, data.scenarios, make_calls=_spend, limits=limits, max_cost=max_cost_box.value)
    mo.stop(isinstance(result, UserError), mo.callout(mo.plain_text(f"Cannot run: {result}"), kind="danger"))
    return (result,)


@app.cell
def _(result):
    buckets = stats.refusal_rates(result.responses)
    buckets = buckets[buckets["n"] > 0]
    _missing = result.stats.missing
    _note = f" {_missing} calls are not cached yet: press the run button to make them." if _missing else ""
    mo.md(f"`{result.stats.line()}`.{_note}")
    return (buckets,)


@app.cell
def _(buckets, data):
    plots.refusal_curves(buckets, data.scenarios, human=data.human, human_label="human (MoralExceptQA)",
                         title="MoralExceptQA blue.house: refusal rate by act and condition", columns=3)
    return


@app.cell
def _(buckets, data):
    comparison = stats.compare(buckets, data.human).assign(human_data="MoralExceptQA")
    summary = stats.summarize(comparison)
    permutations = {}
    for _model, _part in buckets.groupby("model"):
        try:
            permutations[_model] = stats.level_permutation_test(_part, data.human)
        except ValueError:  # no act measured at all six levels yet
            pass
    return comparison, permutations, summary


@app.cell
def _(permutations, summary):
    _lines = "\n".join(
        f"- **{r.model}**: mean absolute difference **{r.mean_abs_diff:.1%}** over {r.buckets} buckets; "
        f"significantly different in **{r.significant}** ({r.model_stricter} stricter, {r.model_laxer} laxer); "
        f"Holm: {r.significant_holm}, Benjamini-Hochberg: {r.significant_fdr_bh}; level-permutation test "
        + (f"p = {permutations[r.model].p_value:.3f} ({permutations[r.model].permutations} permutations)"
           if r.model in permutations else "needs every level of an act")
        for r in summary.itertuples()
    ) or "- no bucket has a model rate yet"
    mo.md(f"""
    ## Model vs MoralExceptQA's humans

    The tests of 2.1: per bucket a two-sample test of proportions with a pooled SE
    (exact-mode rates tested one-sample against the human count), unadjusted at 5% as in
    the paper, Holm and Benjamini-Hochberg beside them. The permutation test (as in 2.4)
    asks whether the model's rates follow the human ordering of the six conditions:
    a small p means the true level labels fit better than shuffled ones.

    {_lines}
    """)
    return


@app.cell
def _(comparison):
    mo.ui.table(comparison.round(4), selection=None, page_size=54)
    return


@app.cell
def _(data):
    _same = data.human[data.human.duplicated(["scenario", "response"], keep=False)]
    _note = "".join(f" In `{s}` levels {', '.join(map(str, g['level']))} have the same published share "
                    f"({g['response'].iloc[0]:.4f}); we use the file as published."
                    for s, g in _same.groupby("scenario"))
    mo.md(f"""
    ## Human rates used above (MoralExceptQA, {moralexceptqa.LICENCE})

    One row per vignette as published; `refusal_rate` = 1 - `response`.{_note}
    """)
    return


@app.cell
def _(data):
    mo.ui.table(data.human.round(4), selection=None, page_size=54)
    return


if __name__ == "__main__":
    app.run()
