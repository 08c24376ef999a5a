import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.1 Baseline refusal rates")

with app.setup:
    import marimo as mo

    from helpers.exceptions import plots, reference, stats
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import runs
    from helpers.notebook.comparison import READING, permutation_tests, summary_lines
    from helpers.notebook.validity import assess as assess_validity


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
    study = checked(runs.open_study, mo.cli_args())
    controls, run_button = runs.run_controls(study, batch=True)
    mo.vstack([study.human.note(), runs.controls_view(controls, run_button)])
    return controls, run_button, study


@app.cell
def _(controls, run_button, study):
    # Reading the cache is free and instant; making calls waits for the button
    # (an export or a script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    run = checked(runs.measure, controls.value, study, make_calls=_spend, title="Measuring the baseline")
    run.report()
    return (run,)


@app.cell
def _(run):
    # Before any comparison with people: can this run's rates be read as decisions
    # about exceptions at all? Later cells may use validity.verdict(model, variant).
    validity = checked(assess_validity, run.measured)
    validity.view()
    return (validity,)


@app.cell
def _(run, study):
    plots.figure1(run.measured, run.plan.scenarios, **study.human.figure_args(),
                  paper_marks=reference.human_marks(),
                  title=study.human.title("Refusal rate by scenario and exception level"))
    return


@app.cell
def _(run, study, validity):
    comparison = study.human.compare(run.measured)
    _summary = stats.summarize(comparison)
    _references = study.human.references(run.measured, permutation_tests(run.measured, study.human.data))
    _paper = reference.paper_reported().query("metric in ['mean_abs_diff', 'significant_buckets'] and variant == 'baseline'")
    _mad = ", ".join(f"{r.agent} {r.value:.1%}" for r in _paper.itertuples() if r.metric == "mean_abs_diff")
    _sig = ", ".join(f"{r.agent} {r.value:.0f}/{r.denominator:.0f}" for r in _paper.itertuples() if r.metric == "significant_buckets")
    mo.vstack([mo.md(f"""
    ## Model vs {study.human.label}

    Two-sample tests of proportions with a pooled SE per bucket (exact-mode rates are
    probabilities, tested one-sample against the human count), unadjusted at 5% as in the
    paper, with Holm and Benjamini-Hochberg beside them, and an exact test beside each. Human side: **{study.human.label}**,
    {study.human.describe()}, {len(comparison)} matched buckets.

    {summary_lines(_summary, study.human.label, validity=validity)}

    {"For reference, **paper-reported**" if validity.comparable else validity.paper_note() + " **Paper-reported**"} with the paper's own human data: mean absolute difference {_mad}; significantly different buckets {_sig}.

    ### The gap beside its reference points (measured)

    {READING}
    """), table(_references, selection=None)])
    return (comparison,)


@app.cell
def _(comparison):
    table(comparison.round(4), selection=None)
    return


@app.cell
def _(run):
    mo.vstack([mo.md(f"""
    ## Bucket table

    Refusal rate = no / (yes + no) (the paper's equation 1). In `exact` mode it is
    P(no) / (P(yes) + P(no)) over the first answer token, and `yes_no_mass` shows how
    much of the model's first token was a yes or a no at all (low mass means the
    prompt does not really elicit a decision from this model). Mean mass here:
    **{run.buckets['yes_no_mass'].mean():.2f}**.

    Every figure and test above shows that **probability**. The paper sampled GPT-4o and
    4o-mini at temperature 0, which gives the **likelier answer** (`rate_top`: 1 where
    P(no) > P(yes)), so a 0.6 here reads about 1 there. {runs.estimand_note(run.buckets)}
    """), runs.bucket_table(run.buckets)])
    return


@app.cell
def _():
    mo.vstack([mo.md(r"""
    ## Paper-reported human rates used above

    These numbers are quoted from the paper's text (source column), not measured here.
    Where the paper does not name the level, the note says where we placed it.
    """), table(reference.human_marks(), selection=None)])
    return


@app.cell
def _(run, study, validity):
    # What `make report` puts on the front page and atop the static report.
    headline.comparison_card("2.1", "Baseline refusal rates", run, study.human, validity)
    return


if __name__ == "__main__":
    app.run()
