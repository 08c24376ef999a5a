import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.2 Ethical framework prompting")

with app.setup:
    import marimo as mo

    from helpers.exceptions import plots, reference, stats, summaries
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import answers, runs
    from helpers.notebook.comparison import READING, permutation_tests, summary_lines
    from helpers.notebook.validity import assess as assess_validity

    # What `make report` exports: the baseline and the three frameworks in exact mode
    # (one forward pass per bucket, about 0.3 s each with the offline model), so all
    # 240 buckets take one to two minutes; `-- --level 6 --scenario grocery_prices` etc. make it smaller.
    # Measured (fresh call cache, `marimo export html`): 199 s with the 2 cores shared (load average 6).
    DEFAULTS = {"variant": "baseline,consequentialist,deontological,virtue", "mode": "exact"}
    FRAMEWORKS = ["baseline", "consequentialist", "deontological", "virtue"]


@app.cell
def _():
    mo.md(r"""
    # 2.2 Ethical framework prompting

    **Claim (paper, Section 2.2, Figure 2):** telling a model to decide as a
    consequentialist, a deontologist or a virtue ethicist does not bring its decisions
    close to people's. GPT-4o, given one of the three frameworks (250 answers per
    bucket), still refused at rates significantly different from the human ones in
    60, 60 and 59 of the 60 buckets (**paper-reported**). Its answers did argue in the
    framework's terms, but used them to justify keeping the rule.

    Each variant here is the baseline question with one added instruction naming the
    framework; the exact wording is in `variants.toml` (write your own variant there
    and pick it below). Level 1 is the most severe exception. By default every bucket is
    measured in `exact` mode (first-token probabilities, one forward pass each), which the
    offline model does in a minute or two; `sample` mode parses written answers.
    """)
    return


@app.cell
def _():
    study = checked(runs.open_study, mo.cli_args(), DEFAULTS, variants=True)
    controls, run_button = runs.run_controls(study)
    mo.vstack([study.human.note(), runs.controls_view(controls, run_button)])
    return controls, run_button, study


@app.cell
def _(controls, run_button, study):
    # Reading the cache is free; making calls waits for the button (an export or a
    # script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    run = checked(runs.measure, controls.value, study, make_calls=_spend, title="Measuring the frameworks")
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
    plots.figure2(run.measured, run.plan.scenarios, **study.human.figure_args(),
                  paper_marks=reference.human_marks(),
                  title=study.human.title("Refusal rate under ethical-framework prompts"))
    return


@app.cell
def _(run, study, validity):
    comparison = study.human.compare(run.measured)
    _summary = stats.summarize(comparison)
    _side = summaries.beside_paper(_summary, study.human.label, FRAMEWORKS)
    _references = study.human.references(run.measured, permutation_tests(run.measured, study.human.data))
    mo.vstack([mo.md(f"""
    ## Significance per framework

    Per bucket, a two-sample test of proportions with a pooled SE (exact-mode rates are
    probabilities and are tested one-sample against the human count), at 5% without
    adjustment as in the paper; Holm and Benjamini-Hochberg counts and an exact test beside it.

    {summary_lines(_summary, study.human.label, validity=validity)}

    The table puts these next to the **paper-reported** counts (GPT-4o, the paper's
    participants). They are different models and different human data: compare the
    pattern across frameworks, not the numbers.
    """), validity.beside_paper(_side),
        mo.md(f"### Each gap beside its reference points (measured)\n\n{READING}"),
        table(_references, selection=None)])
    return (comparison,)


@app.cell
def _(comparison, run):
    plots.significance_heatmap(comparison, run.plan.scenarios)
    return


@app.cell
def _(run, study):
    viewer = answers.viewer_controls(run.result, study.scenarios, study.params.examples)
    examples_button = mo.ui.run_button(label="Sample the missing answers")
    mo.vstack([mo.md("""
    ## The answers behind the rates

    Pick a bucket to read whole answers. After a `sample` run these are the run's own
    answers; after an `exact` run (which reads first-token probabilities and has no
    text) a few answers are sampled for reading only, and do not enter the rates above.
    """), mo.hstack([viewer.hstack(), examples_button])])
    return examples_button, viewer


@app.cell
def _(run, study, viewer):
    # Exact mode: the run's prompts and P(no); after a sample run its answers are the sampled ones below.
    mo.stop(run.config.mode != "exact")
    answers.run_answers(run.result, study.scenarios, viewer.value, "answers", run.config.mode)
    return


@app.cell
def _(examples_button, run, study, viewer):
    _spend = examples_button.value or spends_without_click(mo.app_meta())
    examples = checked(answers.sample, run.plan, study.scenarios, viewer.value, make_calls=_spend)
    answers.sampled_answers(examples, study.scenarios, viewer.value, run.config.mode == "exact")
    return (examples,)


@app.cell
def _(examples, run):
    _invalid, _which = answers.invalid_answers(run.result, examples, run.config.mode == "exact")
    mo.vstack([mo.md(f"""
    ## Answers that state no decision

    `prompting.parse_answer` reads a decision from an opening yes/no, a labelled final
    answer, an emphasised yes/no or a first-person statement about the scenario's action;
    anything else is `invalid`: counted here, never treated as a refusal. Counted over {_which}.
    """), table(_invalid, selection=None)])
    return


@app.cell
def _(run):
    mo.vstack([mo.md(f"""
    ## Bucket table

    Refusal rate = no / (yes + no) (the paper's equation 1); in `exact` mode P(no) /
    (P(yes) + P(no)) over the first answer token, with `yes_no_mass` = P(yes) + P(no)
    (mean here **{run.buckets['yes_no_mass'].mean():.2f}**: how much the prompt elicits a yes/no at all).
    """), runs.bucket_table(run.buckets)])
    return


@app.cell
def _(run, study, validity):
    # What `make report` puts on the front page and atop the static report.
    headline.comparison_card("2.2", "Ethical framework prompting", run, study.human, validity)
    return


if __name__ == "__main__":
    app.run()
