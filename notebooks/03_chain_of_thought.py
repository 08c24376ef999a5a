import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.3 Chain-of-thought prompting")

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

    # What `make report` exports, sized for the offline model (about 20 generated
    # tokens/s on 2 cores): exact mode, one reasoning chain per bucket with reasoning
    # turns of at most 48 tokens, at levels 1 and 6 (the two ends of every scenario,
    # where all the paper-reported human rates sit). Move the widgets, or pass
    # `-- --level 1,2,3,4,5,6 --samples 10 --reasoning-tokens 256`, for a fuller run.
    # Measured (fresh call cache, `marimo export html`): 302 s and 439 s while the 2 cores
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
    `variants.toml`; add your own reasoning steps there as a new variant.

    **Sized for the offline model:** unless you change the widgets (or pass arguments),
    this runs `exact` mode at levels 1 and 6 (the two ends of every scenario, where all the
    paper-reported human rates sit) with one reasoning chain per bucket and reasoning turns
    of at most 48 tokens, so that an export takes minutes, not hours. A 135M-parameter
    model reasons poorly at any length; it stands in for the method, not for the paper's models.
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
    samples_slider = mo.ui.number(start=1, stop=100_000, value=params.samples, label="samples (chains) per bucket")
    reasoning_slider = mo.ui.number(start=1, stop=16_384, value=params.reasoning_tokens, label="tokens per reasoning turn")
    max_cost_box = mo.ui.number(start=0, stop=100_000, step=0.5, value=params.max_cost, label="max cost ($)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([models_box, mo.hstack([variant_pick, scenario_pick, level_pick]), mo.hstack([mode_pick, samples_slider, reasoning_slider]), mo.hstack([max_cost_box, run_button])])
    return level_pick, max_cost_box, mode_pick, models_box, reasoning_slider, run_button, samples_slider, scenario_pick, variant_pick


@app.cell
def _(all_scenarios, level_pick, mode_pick, models_box, params, reasoning_slider, samples_slider, scenario_pick, variant_pick):
    chosen = scenarios.select(all_scenarios, list(scenario_pick.value))
    config = attempt(
        experiment.RunConfig, models=tuple(m.strip() for m in models_box.value.split(",") if m.strip()),
        variants=tuple(variant_pick.value) or ("baseline",), mode=mode_pick.value, samples=samples_slider.value,
        temperature=params.temperature, max_tokens=params.max_tokens, reasoning_tokens=reasoning_slider.value,
        base_url=params.base_url, levels=tuple(sorted(int(v) for v in level_pick.value)) or None,
    )
    mo.stop(isinstance(config, UserError), mo.callout(mo.md(f"**Cannot run:** {config}"), kind="danger"))
    limits = Limits(rpm=params.rpm)
    return chosen, config, limits


@app.cell
def _(chosen, config, limits):
    guess = attempt(experiment.estimate, config, chosen, limits)
    mo.stop(isinstance(guess, UserError), mo.callout(mo.md(f"**Cannot estimate:** {guess}"), kind="danger"))
    _chains = ", ".join(config.chain_variants()) or "none"
    _backing = (f"Multi-turn variants ({_chains}): **{config.samples} reasoning sample(s) back each bucket**, "
                f"reasoning turns of at most {config.reasoning_tokens} tokens.")
    mo.md(f"**Before the run button** (nothing spent yet):\n\n```\n{guess.table()}\n```\n\n{_backing}")
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
    mo.md(f"`{result.stats.line()}` (every turn of a chain is one call).{_note}")
    return buckets, measured


@app.cell
def _(chosen, human_data, human_label, illustrative, measured):
    plots.figure1(measured, chosen, human=human.bucket_rates(human_data), human_label=human_label,
                  paper_marks=reference.human_marks(),
                  title="Baseline vs chain of thought" + (" (humans: illustrative data)" if illustrative else ""))
    return


@app.cell
def _(human_data, human_label, measured):
    comparison = stats.compare(measured, human_data).assign(human_data=human_label)
    summary = stats.summarize(comparison)
    side_by_side = summaries.beside_paper(summary, human_label, ["baseline", "cot"])
    return comparison, side_by_side, summary


@app.cell
def _(human_label, summary):
    _lines = "\n".join(
        f"- **{r.model}**, `{r.variant}`: mean absolute difference from {human_label} **{r.mean_abs_diff:.1%}**; "
        f"significantly different in **{r.significant} of {r.buckets}** buckets ({r.model_stricter} stricter, "
        f"{r.model_laxer} laxer; Holm {r.significant_holm}, Benjamini-Hochberg {r.significant_fdr_bh})"
        for r in summary.itertuples()
    ) or "- no bucket has both a model rate and a human rate yet"
    mo.md(f"""
    ## Baseline vs chain of thought vs humans

    Mean absolute difference = mean over matched buckets of |model rate - human rate|
    (the paper's post hoc measure). Significance: per bucket, a two-sample test of
    proportions with a pooled SE (exact-mode rates tested one-sample against the human
    count), at 5% without adjustment as in the paper.

    {_lines}

    Beside them, the **paper-reported** figures (GPT-4o-mini and others, the paper's
    participants, all 60 buckets): different models, human data and bucket counts, so
    compare the direction of the change from baseline to `cot`, not the numbers.
    """)
    return


@app.cell
def _(side_by_side):
    mo.ui.table(side_by_side.round(3), selection=None)
    return


@app.cell
def _(all_scenarios, params, result):
    _intro = mo.md("""
    ## The conversations behind the rates

    Pick a bucket to read every turn of its chains: the analysis, the application of the
    policy and the final answer (in `exact` mode, the final turn's probability). Below
    them, a few fully sampled answers per variant, parsed like any `sample` run.
    """)
    _ids = sorted(set(result.responses["scenario"])) or [s.id for s in all_scenarios]
    view_scenario = mo.ui.dropdown(options={s.title: s.id for s in all_scenarios if s.id in _ids}, value=next(s.title for s in all_scenarios if s.id == _ids[0]), label="scenario")
    view_level = mo.ui.dropdown(options=[str(v) for v in sorted(set(result.responses["level"]))] or ["1"], value=str(max(result.responses["level"], default=1)), label="level")
    examples_slider = mo.ui.number(start=1, stop=1000, value=params.examples, label="sampled answers per variant")
    examples_button = mo.ui.run_button(label="Sample the missing answers")
    mo.vstack([_intro, mo.hstack([view_scenario, view_level, examples_slider, examples_button])])
    return examples_button, examples_slider, view_level, view_scenario


@app.cell
def _(all_scenarios, config, result, view_level, view_scenario):
    _scenario = next(s for s in all_scenarios if s.id == view_scenario.value)
    _text = transcripts.bucket_markdown(result.responses, _scenario, int(view_level.value), limit=3)
    mo.md(f"**This run's conversations** ({config.mode} mode):\n\n{_text}")
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
    _note = f"\n\n_{_missing} calls are not cached yet: press the button to make them._" if _missing else ""
    _title = "**Sampled answers**" + (" (for reading only; not in the rates above)" if config.mode == "exact" else "")
    mo.md(f"{_title}:\n\n" + transcripts.bucket_markdown(examples.responses, _scenario, int(view_level.value), limit=20) + _note)
    return


@app.cell
def _(config, examples, result):
    _source = result.responses if config.mode == "sample" else examples.responses
    invalid = transcripts.invalid_summary(_source)
    _which = "this run's answers" if config.mode == "sample" else "the sampled answers above (an exact run has no final text to parse)"
    mo.md(f"""
    ## Answers that state no decision

    `prompting.parse_answer` reads the decision from the last turn by documented rules
    (an opening yes/no, a labelled final answer, an emphasised yes/no, a first-person
    statement about the scenario's action); anything else is `invalid`: counted here,
    never treated as a refusal. Counted over {_which}.
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

    `n` is the number of answers (for `cot`, of chains) behind each rate; `failed`
    counts chains with a failed turn, never as refusals. Tokens and cost add up every
    turn. In `exact` mode `yes_no_mass` (mean **{buckets['yes_no_mass'].mean():.2f}**)
    shows how much of the final turn's first token was a yes or a no at all.
    """)
    return


@app.cell
def _(buckets):
    mo.ui.table(buckets.round(3), selection=None, page_size=min(len(buckets), 100) or 10)
    return


if __name__ == "__main__":
    app.run()
