import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.3 Chain-of-thought prompting")

with app.setup:
    import marimo as mo

    from helpers.exceptions import plots, reference, stats, summaries
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import answers, runs
    from helpers.notebook.comparison import READING, permutation_tests, summary_lines
    from helpers.notebook.validity import assess as assess_validity

    # What `make report` exports, sized for the offline model (about 20 generated
    # tokens/s on 2 cores): exact mode, one reasoning chain per bucket with reasoning
    # turns of at most 48 tokens, at levels 1 and 6 (the two ends of every scenario,
    # where all the paper-reported human rates sit). Move the widgets, or pass
    # `-- --level 1,2,3,4,5,6 --samples 10 --reasoning-tokens 256`, for a fuller run.
    # The control (level 0) now runs too, a third level, so about 1.5x these times, which
    # were measured before it existed and before `cot` became neutral (not re-measured):
    # (fresh call cache, `marimo export html`): 302 s and 439 s while the 2 cores
    # were shared with other jobs (load average 5-6); the estimate cell predicts about 2 min idle.
    DEFAULTS = {"variant": "baseline,cot", "mode": "exact", "samples": 1, "level": "1,6",
                "reasoning-tokens": 48, "max-tokens": 48, "examples": 1}


@app.cell
def _():
    mo.md(r"""
    # 2.3 Chain-of-thought prompting

    **Claim (paper, Sections 2.3 and 4.3):** making a model reason in steps before it
    decides narrows its gap to human decisions only a little. GPT-4o-mini with chain
    of thought (10 answers per bucket) differed from the human refusal rate by 40.6% on
    average, against 45.3% without it, and was significantly different in 51 of the 60
    buckets, against all 60 without it (**paper-reported**).

    The `cot` variant runs as the paper describes: three turns in one conversation, each
    a real model call whose answer goes into the next: analyse the exception, apply the
    policy, then give a final yes or no. The decision is read from the last turn: its
    parsed answer in `sample` mode, or its first-token P(no) / (P(yes) + P(no)) in
    `exact` mode, after the two reasoning turns were sampled. The wording is in
    `variants.toml`, and it is neutral: it names the steps, not what to weigh. `cot_guided`
    (an earlier wording that asks what the rule is for and who is affected) is there to
    measure what a leading first step adds; add your own steps as a new variant.

    **Sized for the offline model:** unless you change the widgets (or pass arguments),
    this runs `exact` mode at levels 1 and 6 (the two ends of every scenario, where all the
    paper-reported human rates sit) with one reasoning chain per bucket and reasoning turns
    of at most 48 tokens, so that an export takes minutes, not hours. A 135M-parameter
    model reasons poorly at any length; it stands in for the method, not for the paper's models.
    """)
    return


@app.cell
def _():
    study = checked(runs.open_study, mo.cli_args(), DEFAULTS, variants=True)
    controls, run_button = runs.run_controls(study, reasoning=True)
    mo.vstack([study.human.note(), runs.controls_view(controls, run_button)])
    return controls, run_button, study


@app.cell
def _(controls, run_button, study):
    # Reading the cache is free; making calls waits for the button (an export or a
    # script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    run = checked(runs.measure, controls.value, study, make_calls=_spend, title="Measuring baseline and chains")
    run.report(" (every turn of a chain is one call)")
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
                  paper_marks=reference.human_marks(), title=study.human.title("Baseline vs chain of thought"))
    return


@app.cell
def _(run, study, validity):
    _summary = stats.summarize(study.human.compare(run.measured))
    _side = summaries.beside_paper(_summary, study.human.label, ["baseline", "cot"])
    _references = study.human.references(run.measured, permutation_tests(run.measured, study.human.data))
    mo.vstack([mo.md(f"""
    ## Baseline vs chain of thought vs humans

    Mean absolute difference = mean over matched buckets of |model rate - human rate|
    (the paper's post hoc measure). Significance: per bucket, a two-sample test of
    proportions with a pooled SE (exact-mode rates tested one-sample against the human
    count), at 5% without adjustment as in the paper, with an exact test beside it.

    {summary_lines(_summary, study.human.label, validity=validity)}

    Beside them, the **paper-reported** figures (GPT-4o-mini and others, the paper's
    participants, all 60 buckets): different models, human data and bucket counts, so
    compare the direction of the change from baseline to `cot`, not the numbers.
    """), validity.beside_paper(_side),
        mo.md(f"### Each gap beside its reference points (measured)\n\n{READING}"),
        table(_references, selection=None)])
    return


@app.cell
def _(run, study):
    viewer = answers.viewer_controls(run.result, study.scenarios, study.params.examples, "sampled answers per variant")
    examples_button = mo.ui.run_button(label="Sample the missing answers")
    mo.vstack([mo.md("""
    ## The conversations behind the rates

    Pick a bucket to read every turn of its chains: the analysis, the application of the
    policy and the final answer (in `exact` mode, the final turn's probability). Below
    them, a few fully sampled answers per variant, parsed like any `sample` run.
    """), mo.hstack([viewer.hstack(), examples_button])])
    return examples_button, viewer


@app.cell
def _(run, study, viewer):
    answers.run_answers(run.result, study.scenarios, viewer.value, "conversations", run.config.mode)
    return


@app.cell
def _(examples_button, run, study, viewer):
    _spend = examples_button.value or spends_without_click(mo.app_meta())
    examples = checked(answers.sample, run.plan, study.scenarios, viewer.value, make_calls=_spend)
    answers.sampled_answers(examples, study.scenarios, viewer.value, run.config.mode == "exact",
                            "for reading only; not in the rates above")
    return (examples,)


@app.cell
def _(examples, run):
    _invalid, _which = answers.invalid_answers(run.result, examples, run.config.mode == "exact")
    mo.vstack([mo.md(f"""
    ## Answers that state no decision

    `prompting.parse_answer` reads the decision from the last turn by documented rules
    (an opening yes/no, a labelled final answer, an emphasised yes/no, a first-person
    statement about the scenario's action); anything else is `invalid`: counted here,
    never treated as a refusal. Counted over {_which}.
    """), table(_invalid, selection=None)])
    return


@app.cell
def _(run):
    mo.vstack([mo.md(f"""
    ## Bucket table

    `n` is the number of answers (for `cot`, of chains) behind each rate; `failed`
    counts chains with a failed turn, never as refusals. Tokens and cost add up every
    turn. In `exact` mode `yes_no_mass` (mean **{run.buckets['yes_no_mass'].mean():.2f}**)
    shows how much of the final turn's first token was a yes or a no at all.
    """), runs.bucket_table(run.buckets)])
    return


@app.cell
def _(run, study, validity):
    # What `make report` puts on the front page and atop the static report.
    headline.comparison_card("2.3", "Chain-of-thought prompting", run, study.human, validity)
    return


if __name__ == "__main__":
    app.run()
