import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.1 Baseline refusal rates")

with app.setup:
    import marimo as mo

    from helpers.exceptions import experiment
    from helpers.humans import responses as human
    from helpers.exceptions import plots
    from helpers.exceptions import reference
    from helpers.exceptions import scenarios
    from helpers.exceptions import stats
    from helpers.errors import UserError
    from helpers.llm.engine import Limits
    from helpers.notebook.gate import attempt, run_with_progress, spends_without_click
    from helpers.notebook.params import NotebookParams


@app.cell
def _():
    mo.md(r"""
    # 2.1 Baseline refusal rates

    **Claim (paper, Section 2.1, Figure 1):** off-the-shelf language models refuse policy
    exceptions far more often than people do, at almost every scenario and exception
    level. People grant small exceptions (92.3% bought flour one cent over a friend's
    $10 limit) and their refusal rate falls as the exception gets less severe; the
    models' rates stay near 1 whatever the level.

    Here a model answers every scenario in `scenarios.toml` at every level and is
    compared with human data: your file (`--human FILE`, or the survey's export in
    `data/human_responses.csv`) or, when there is none, a generated **illustrative**
    set (not real people). The black line is that human data; the black X marks are
    the few human rates the paper quotes in its text (**paper-reported**, not measured
    here). Level 1 is the most severe exception.
    """)
    return


@app.cell
def _():
    params = NotebookParams.from_cli(dict(mo.cli_args()))
    all_scenarios = scenarios.load_scenarios(params.scenarios)
    return all_scenarios, params


@app.cell
def _(all_scenarios, params):
    _loaded = attempt(human.human_or_illustrative, params.human, all_scenarios)
    mo.stop(isinstance(_loaded, UserError), mo.callout(mo.md(f"**Cannot read the human data:** {_loaded}"), kind="danger"))
    human_data, human_label = _loaded
    illustrative = "illustrative" in human_label
    return human_data, human_label, illustrative


@app.cell
def _(human_data, human_label, illustrative):
    mo.callout(mo.md(human.data_note(human_data, human_label)), kind="warn" if illustrative else "info")
    return


@app.cell
def _(all_scenarios, params):
    models_box = mo.ui.text(value=", ".join(params.models), label="models (provider/model, comma-separated)", full_width=True)
    scenario_pick = mo.ui.multiselect(options={s.title: s.id for s in all_scenarios}, value=[s.title for s in all_scenarios], label="scenarios")
    _top = max(len(s.levels) for s in all_scenarios)
    level_range = mo.ui.range_slider(start=1, stop=_top, value=[1, _top], label="levels", show_value=True)
    mode_pick = mo.ui.dropdown(options=["exact", "sample"], value=params.mode, label="mode")
    samples_slider = mo.ui.slider(1, 200, value=params.samples, label="samples per bucket (sample mode)", show_value=True)
    max_cost_box = mo.ui.number(start=0, stop=100_000, step=0.5, value=params.max_cost, label="max cost ($)")
    batch_box = mo.ui.checkbox(label="Batch API (openai/ only: half price, up to 24 h)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([models_box, mo.hstack([scenario_pick, level_range]), mo.hstack([mode_pick, samples_slider]),
               mo.hstack([max_cost_box, batch_box, run_button])])
    return batch_box, level_range, max_cost_box, mode_pick, models_box, run_button, samples_slider, scenario_pick


@app.cell
def _(all_scenarios, level_range, mode_pick, models_box, params, samples_slider, scenario_pick):
    chosen = scenarios.select(all_scenarios, list(scenario_pick.value))
    config = attempt(
        experiment.RunConfig,
        models=tuple(m.strip() for m in models_box.value.split(",") if m.strip()),
        mode=mode_pick.value, samples=samples_slider.value, temperature=params.temperature,
        base_url=params.base_url, levels=tuple(range(level_range.value[0], level_range.value[1] + 1)),
    )
    mo.stop(isinstance(config, UserError), mo.callout(mo.md(f"**Cannot run:** {config}"), kind="danger"))
    limits = Limits(rpm=params.rpm)
    return chosen, config, limits


@app.cell
def _(batch_box, chosen, config, limits):
    guess = attempt(experiment.estimate, config, chosen, limits, batch=batch_box.value)
    mo.stop(isinstance(guess, UserError), mo.callout(mo.md(f"**Cannot estimate:** {guess}"), kind="danger"))
    _warn = "".join(f"\n\n**Warning:** {w}" for w in config.warnings())
    mo.md(f"**Before the run button** (nothing spent yet):\n\n```\n{guess.table()}\n```" + _warn)
    return


@app.cell
def _(batch_box, chosen, config, limits, max_cost_box, run_button):
    # Reading the cache is free and instant; making calls waits for the button
    # (an export or a script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    result = run_with_progress(config, chosen, make_calls=_spend, limits=limits,
                               batch=batch_box.value, max_cost=max_cost_box.value)
    mo.stop(isinstance(result, UserError), mo.callout(mo.md(f"**Cannot run:** {result}"), kind="danger"))
    return (result,)


@app.cell
def _(result):
    buckets = stats.refusal_rates(result.responses)
    _missing = result.stats.missing
    _note = f" {_missing} calls are not cached yet: press the run button to make them." if _missing else ""
    mo.md(f"`{result.stats.line()}`.{_note}")
    return (buckets,)


@app.cell
def _(buckets, chosen, human_data, human_label, illustrative):
    plots.figure1(buckets[buckets["n"] > 0], chosen, human=human.bucket_rates(human_data), human_label=human_label,
                  paper_marks=reference.human_marks(),
                  title="Refusal rate by scenario and exception level" + (" (humans: illustrative data)" if illustrative else ""))
    return


@app.cell
def _(buckets, human_data, human_label):
    comparison = stats.compare(buckets[buckets["n"] > 0], human_data).assign(human_data=human_label)
    summary = stats.summarize(comparison)
    return comparison, summary


@app.cell
def _(comparison, human_data, human_label, summary):
    _paper = reference.paper_reported().query("metric in ['mean_abs_diff', 'significant_buckets'] and variant == 'baseline'")
    _lines = "\n".join(
        f"- **{r.model}** vs {human_label}: mean absolute difference **{r.mean_abs_diff:.1%}**; significantly different "
        f"in **{r.significant} of {r.buckets}** buckets ({r.model_stricter} stricter, {r.model_laxer} laxer); "
        f"Holm: {r.significant_holm}, Benjamini-Hochberg: {r.significant_fdr_bh}"
        for r in summary.itertuples()
    ) or "- no bucket has both a model rate and a human rate yet"
    _mad = ", ".join(f"{r.agent} {r.value:.1%}" for r in _paper.itertuples() if r.metric == "mean_abs_diff")
    _sig = ", ".join(f"{r.agent} {r.value:.0f}/{r.denominator:.0f}" for r in _paper.itertuples() if r.metric == "significant_buckets")
    mo.md(f"""
    ## Model vs {human_label}

    Two-sample tests of proportions with a pooled SE per bucket (exact-mode rates are
    probabilities, tested one-sample against the human count), unadjusted at 5% as in the
    paper, with Holm and Benjamini-Hochberg beside them. Human side: **{human_label}**,
    {human.describe(human_data)}, {len(comparison)} matched buckets.

    {_lines}

    For reference, **paper-reported** with the paper's own human data: mean absolute difference {_mad}; significantly different buckets {_sig}.
    """)
    return


@app.cell
def _(comparison):
    mo.ui.table(comparison.round(4), selection=None)
    return


@app.cell
def _(buckets):
    mo.md(f"""
    ## Bucket table

    Refusal rate = no / (yes + no) (the paper's equation 1). In `exact` mode it is
    P(no) / (P(yes) + P(no)) over the first answer token, and `yes_no_mass` shows how
    much of the model's first token was a yes or a no at all (low mass means the
    prompt does not really elicit a decision from this model). Mean mass here:
    **{buckets['yes_no_mass'].mean():.2f}**.
    """)
    return


@app.cell
def _(buckets):
    mo.ui.table(buckets.round(3), selection=None, page_size=min(len(buckets), 100) or 10)
    return


@app.cell
def _():
    mo.md(r"""
    ## Paper-reported human rates used above

    These numbers are quoted from the paper's text (source column), not measured here.
    Where the paper does not name the level, the note says where we placed it.
    """)
    return


@app.cell
def _():
    mo.ui.table(reference.human_marks(), selection=None)
    return


if __name__ == "__main__":
    app.run()
