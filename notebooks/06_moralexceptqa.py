import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="External study: MoralExceptQA")

with app.setup:
    import marimo as mo

    from helpers.exceptions import plots, stats
    from helpers.humans import moralexceptqa
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import runs
    from helpers.notebook.validity import assess as assess_validity
    from helpers.notebook.comparison import READING, permutation_tests, reference_table, summary_lines


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
    study, data = checked(runs.open_moralexceptqa, mo.cli_args())
    mo.callout(mo.md(f"""
    **Data and attribution.** {moralexceptqa.ATTRIBUTION}
    Read from `{data.path}` (never copied into this repository).
    """), kind="info")
    return data, study


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
def _(study):
    controls, run_button = runs.run_controls(study, pickers=False)
    runs.controls_view(controls, run_button)
    return controls, run_button


@app.cell
def _(controls, run_button, study):
    # As in 2.1: the cache is read for free; calls wait for the button unless
    # nobody can click (export, script), where the offline default runs.
    _spend = run_button.value or spends_without_click(mo.app_meta())
    run = checked(runs.measure, controls.value, study, make_calls=_spend, title="Measuring the vignettes")
    run.report()
    return (run,)


@app.cell
def _(run):
    # As in 2.1, before any comparison with people. The study has no level-0 control
    # (every vignette breaks the rule), so that check stays unchecked here.
    validity = checked(assess_validity, run.measured)
    validity.view()
    return (validity,)


@app.cell
def _(data, run):
    plots.refusal_curves(run.measured, data.scenarios, human=data.human, human_label="human (MoralExceptQA)",
                         title="MoralExceptQA blue.house: refusal rate by act and condition", columns=3)
    return


@app.cell
def _(data, run):
    comparison = stats.compare(run.measured, data.human).assign(human_data="MoralExceptQA")
    summary = stats.summarize(comparison)
    permutations = permutation_tests(run.measured, data.human)
    references = reference_table(run.measured, data.human, permutations)
    return comparison, permutations, references, summary


@app.cell
def _(permutations, references, summary):
    mo.vstack([mo.md(f"""
    ## Model vs MoralExceptQA's humans

    The tests of 2.1: per bucket a two-sample test of proportions with a pooled SE
    (exact-mode rates tested one-sample against the human count), unadjusted at 5% as in
    the paper, Holm and Benjamini-Hochberg beside them. The permutation test (as in 2.4)
    asks whether the model's rates follow the human ordering of the six conditions:
    a small p means the true level labels fit better than shuffled ones.

    {summary_lines(summary, "MoralExceptQA's humans", permutations)}

    ### Each gap beside its reference points (measured)

    {READING}
    """), table(references, selection=None)])
    return


@app.cell
def _(comparison):
    table(comparison.round(4), selection=None, page_size=54)
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
    table(data.human.round(4), selection=None, page_size=54)
    return


@app.cell
def _(data, run, summary, validity):
    # What `make report` puts on the front page and atop the static report.
    headline.moralexceptqa_card(summary, run, data, validity)
    return


if __name__ == "__main__":
    app.run()
