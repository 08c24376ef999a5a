import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.2 Ethical framework prompting")

with app.setup:
    import marimo as mo

    from helpers.exceptions import experiment
    from helpers.humans import responses as human
    from helpers.exceptions import plots
    from helpers.exceptions import reference
    from helpers.exceptions import scenarios
    from helpers.exceptions import stats
    from helpers.exceptions import summaries
    from helpers.exceptions import transcripts
    from helpers.exceptions import variants
    from helpers.llm.engine import Limits
    from helpers.errors import UserError
    from helpers.notebook.gate import attempt, run_with_progress, spends_without_click
    from helpers.notebook.params import NotebookParams, check_run_arguments

    # What `make report` exports: the baseline and the three frameworks in exact mode
    # (one forward pass per bucket, about 0.3 s each with the offline model), so all
    # 240 buckets take one to two minutes; `-- --level 6 --scenario grocery_prices` etc. make it smaller.
    # Measured (fresh call cache, `marimo export html`): 199 s with the 2 cores shared (load average 6).
    DEFAULTS = {"variant": "baseline,consequentialist,deontological,virtue", "mode": "exact"}


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
    params = NotebookParams.from_cli({**DEFAULTS, **dict(mo.cli_args())})
    all_scenarios = scenarios.load_scenarios(params.scenarios)
    known_variants = attempt(variants.load_variants)
    mo.stop(isinstance(known_variants, UserError), mo.callout(mo.md(f"**Cannot read the variants:** {known_variants}"), kind="danger"))
    # Check the arguments before they seed widgets, so a bad one is a message, not a crash.
    _checked = attempt(check_run_arguments, params, all_scenarios)
    mo.stop(isinstance(_checked, UserError), mo.callout(mo.md(f"**Bad notebook argument:** {_checked}"), kind="danger"))
    return all_scenarios, known_variants, params


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
def _(all_scenarios, known_variants, params):
    models_box = mo.ui.text(value=", ".join(params.models), label="models (provider/model, comma-separated)", full_width=True)
    variant_pick = mo.ui.multiselect(options=list(known_variants), value=[v for v in params.variants if v in known_variants], label="variants")
    scenario_pick = mo.ui.multiselect(options={s.title: s.id for s in all_scenarios}, value=[s.title for s in all_scenarios if not params.scenario_ids or s.id in params.scenario_ids], label="scenarios")
    _top = max(len(s.levels) for s in all_scenarios)
    level_pick = mo.ui.multiselect(options=[str(i) for i in range(1, _top + 1)], value=[str(i) for i in (params.levels or range(1, _top + 1))], label="levels")
    mode_pick = mo.ui.dropdown(options=["exact", "sample"], value=params.mode, label="mode")
    samples_slider = mo.ui.number(start=1, stop=100_000, value=params.samples, label="samples per bucket (sample mode)")
    max_cost_box = mo.ui.number(start=0, stop=100_000, step=0.5, value=params.max_cost, label="max cost ($)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([models_box, mo.hstack([variant_pick, scenario_pick, level_pick]), mo.hstack([mode_pick, samples_slider]), mo.hstack([max_cost_box, run_button])])
    return level_pick, max_cost_box, mode_pick, models_box, run_button, samples_slider, scenario_pick, variant_pick


@app.cell
def _(all_scenarios, level_pick, mode_pick, models_box, params, samples_slider, scenario_pick, variant_pick):
    chosen = scenarios.select(all_scenarios, list(scenario_pick.value))
    config = attempt(
        experiment.RunConfig, models=tuple(m.strip() for m in models_box.value.split(",") if m.strip()),
        variants=tuple(variant_pick.value) or ("baseline",), mode=mode_pick.value, samples=samples_slider.value,
        temperature=params.temperature, max_tokens=params.max_tokens, base_url=params.base_url,
        levels=tuple(sorted(int(v) for v in level_pick.value)) or None,
    )
    mo.stop(isinstance(config, UserError), mo.callout(mo.md(f"**Cannot run:** {config}"), kind="danger"))
    limits = Limits(rpm=params.rpm)
    return chosen, config, limits


@app.cell
def _(chosen, config, limits):
    guess = attempt(experiment.estimate, config, chosen, limits)
    mo.stop(isinstance(guess, UserError), mo.callout(mo.md(f"**Cannot estimate:** {guess}"), kind="danger"))
    _warn = "".join(f"\n\n**Warning:** {w}" for w in config.warnings())
    mo.md(f"**Before the run button** (nothing spent yet):\n\n```\n{guess.table()}\n```" + _warn)
    return


@app.cell
def _(chosen, config, limits, max_cost_box, run_button):
    # Reading the cache is free; making calls waits for the button (an export or a
    # script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    result = run_with_progress(config, chosen, make_calls=_spend, limits=limits, max_cost=max_cost_box.value)
    mo.stop(isinstance(result, UserError), mo.callout(mo.md(f"**Cannot run:** {result}"), kind="danger"))
    return (result,)


@app.cell
def _(result):
    buckets = stats.refusal_rates(result.responses)
    measured = buckets[buckets["n"] > 0]
    _missing = result.stats.missing
    _note = f" {_missing} calls are not cached yet: press the run button to make them." if _missing else ""
    mo.md(f"`{result.stats.line()}`.{_note}")
    return buckets, measured


@app.cell
def _(chosen, human_data, human_label, illustrative, measured):
    plots.figure2(measured, chosen, human=human.bucket_rates(human_data), human_label=human_label,
                  paper_marks=reference.human_marks(),
                  title="Refusal rate under ethical-framework prompts" + (" (humans: illustrative data)" if illustrative else ""))
    return


@app.cell
def _(human_data, human_label, measured):
    comparison = stats.compare(measured, human_data).assign(human_data=human_label)
    summary = stats.summarize(comparison)
    side_by_side = summaries.beside_paper(summary, human_label, ["baseline", "consequentialist", "deontological", "virtue"])
    return comparison, side_by_side, summary


@app.cell
def _(human_label, summary):
    _lines = "\n".join(
        f"- **{r.model}**, `{r.variant}`: significantly different from {human_label} in **{r.significant} of "
        f"{r.buckets}** buckets ({r.model_stricter} stricter, {r.model_laxer} laxer; Holm {r.significant_holm}, "
        f"Benjamini-Hochberg {r.significant_fdr_bh}); mean absolute difference **{r.mean_abs_diff:.1%}**"
        for r in summary.itertuples()
    ) or "- no bucket has both a model rate and a human rate yet"
    mo.md(f"""
    ## Significance per framework

    Per bucket, a two-sample test of proportions with a pooled SE (exact-mode rates are
    probabilities and are tested one-sample against the human count), at 5% without
    adjustment as in the paper; Holm and Benjamini-Hochberg counts beside it.

    {_lines}

    The table puts these next to the **paper-reported** counts (GPT-4o, the paper's
    participants). They are different models and different human data: compare the
    pattern across frameworks, not the numbers.
    """)
    return


@app.cell
def _(side_by_side):
    mo.ui.table(side_by_side.round(3), selection=None)
    return


@app.cell
def _(chosen, comparison):
    plots.significance_heatmap(comparison, chosen)
    return


@app.cell
def _(all_scenarios, params, result):
    _intro = mo.md("""
    ## The answers behind the rates

    Pick a bucket to read whole answers. After a `sample` run these are the run's own
    answers; after an `exact` run (which reads first-token probabilities and has no
    text) a few answers are sampled for reading only, and do not enter the rates above.
    """)
    _ids = sorted(set(result.responses["scenario"])) or [s.id for s in all_scenarios]
    view_scenario = mo.ui.dropdown(options={s.title: s.id for s in all_scenarios if s.id in _ids}, value=next(s.title for s in all_scenarios if s.id == _ids[0]), label="scenario")
    view_level = mo.ui.dropdown(options=[str(v) for v in sorted(set(result.responses["level"]))] or ["1"], value=str(max(result.responses["level"], default=1)), label="level")
    examples_slider = mo.ui.number(start=1, stop=1000, value=params.examples, label="answers per variant")
    examples_button = mo.ui.run_button(label="Sample the missing answers")
    mo.vstack([_intro, mo.hstack([view_scenario, view_level, examples_slider, examples_button])])
    return examples_button, examples_slider, view_level, view_scenario


@app.cell
def _(all_scenarios, config, result, view_level, view_scenario):
    _scenario = next(s for s in all_scenarios if s.id == view_scenario.value)
    _text = transcripts.bucket_markdown(result.responses, _scenario, int(view_level.value), limit=3)
    mo.md(f"**This run's answers** ({config.mode} mode):\n\n{_text}" if config.mode == "exact" else "")
    return


@app.cell
def _(all_scenarios, config, examples_button, examples_slider, limits, view_level, view_scenario):
    _scenario = scenarios.select(all_scenarios, [view_scenario.value])
    _config = transcripts.example_config(config, int(view_level.value), examples_slider.value)
    _spend = examples_button.value or spends_without_click(mo.app_meta())
    examples = run_with_progress(_config, _scenario, make_calls=_spend, limits=limits)
    mo.stop(isinstance(examples, UserError), mo.callout(mo.md(f"**Cannot sample answers:** {examples}"), kind="danger"))
    return (examples,)


@app.cell
def _(all_scenarios, config, examples, view_level, view_scenario):
    _scenario = next(s for s in all_scenarios if s.id == view_scenario.value)
    _missing = examples.stats.missing
    _note = f"\n\n_{_missing} answers are not cached yet: press the button to sample them._" if _missing else ""
    _title = "**Sampled answers**" + (" (for reading only)" if config.mode == "exact" else "")
    mo.md(f"{_title}:\n\n" + transcripts.bucket_markdown(examples.responses, _scenario, int(view_level.value), limit=20) + _note)
    return


@app.cell
def _(config, examples, result):
    _source = result.responses if config.mode == "sample" else examples.responses
    invalid = transcripts.invalid_summary(_source)
    _which = "this run's answers" if config.mode == "sample" else "the answers sampled for reading above (an exact run has no text to parse)"
    mo.md(f"""
    ## Answers that state no decision

    `prompting.parse_answer` reads a decision from an opening yes/no, a labelled final
    answer, an emphasised yes/no or a first-person statement about the scenario's action;
    anything else is `invalid`: counted here, never treated as a refusal. Counted over {_which}.
    """)
    return (invalid,)


@app.cell
def _(invalid):
    mo.ui.table(invalid, selection=None)
    return


@app.cell
def _(buckets):
    mo.md(f"""
    ## Bucket table

    Refusal rate = no / (yes + no) (the paper's equation 1); in `exact` mode P(no) /
    (P(yes) + P(no)) over the first answer token, with `yes_no_mass` = P(yes) + P(no)
    (mean here **{buckets['yes_no_mass'].mean():.2f}**: how much the prompt elicits a yes/no at all).
    """)
    return


@app.cell
def _(buckets):
    mo.ui.table(buckets.round(3), selection=None, page_size=min(len(buckets), 100) or 10)
    return


if __name__ == "__main__":
    app.run()
