import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Economic preferences in games")

with app.setup:
    import json
    from dataclasses import replace

    import marimo as mo

    from helpers import economics
    from helpers.economics import agents, measures, play, synthetic
    from helpers.economics import plots as econ_plots
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import econ_agents, econ_humans
    from helpers.notebook.runs import call_details


@app.cell
def _():
    mo.md(r"""
    # Economic preferences: homo economicus and homo moralis in one-shot games

    **Claim (sibling study, Lu, Chen and Hansen; summary in `shared/seeds`):** off-the-shelf
    language models cooperate more than a payoff-maximiser would and barely react to the
    payoffs; fine-tuning on small **synthetic** datasets generated from an economic model of
    preferences moves them toward the chosen agent type. We have the study's summary, not its
    numbers, so nothing below is a figure from it.

    Two agent types. *Homo economicus* maximises its own payoff π(x, y). *Homo moralis*
    (Alger and Weibull) maximises (1 − κ)·π(x, y) + κ·π(x, x): with weight κ it asks what it
    would get if everyone acted as it does. κ = 0 is homo economicus.

    This notebook (1) shows what each type would choose in every game of `games.toml`,
    (2) writes synthetic training data for κ = 0 and a κ you choose, (3) fine-tunes the
    offline model on each set (LoRA, on the CPU), and (4) measures the base and fine-tuned
    models: cooperation per game and payoff setting, sensitivity to incentives, and the κ
    that best explains their choices, (5) beside people given the same prompts: the survey's
    games module (`--human-games FILE`, or its export in `data/human_games.csv`) or, when there
    are none, generated **illustrative** choices (not real people).
    """)
    return


@app.cell
def _():
    params, all_games = checked(econ_agents.open_games, mo.cli_args())
    settings = economics.all_settings(all_games)
    decisions = play.decisions(settings)
    titles = {g.id: g.title for g in all_games}
    return all_games, decisions, params, settings, titles


@app.cell
def _(all_games, decisions, params):
    humans = checked(econ_humans.human_arm, params, all_games, decisions)
    return (humans,)


@app.cell
def _(params):
    kappa_slider = mo.ui.slider(0.05, 1.0, step=0.05, value=max(0.05, params.kappa), show_value=True,
                                label="κ of the homo moralis agent (homo economicus is κ = 0)")
    samples_slider = mo.ui.slider(1, max(50, params.samples), value=params.samples, show_value=True, label="answers per payoff setting")
    size_slider = mo.ui.slider(min(12, params.train.size), max(400, params.train.size), step=4, value=params.train.size, show_value=True,
                               label="synthetic examples per agent type")
    models_box = mo.ui.text(value=", ".join(params.models), full_width=True,
                            label="more models to measure (provider/model, comma-separated; optional)")
    train_button = mo.ui.run_button(label="Fine-tune the offline model (CPU, minutes)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([kappa_slider, mo.hstack([samples_slider, size_slider]), models_box,
               mo.hstack([train_button, run_button])])
    return kappa_slider, models_box, run_button, samples_slider, size_slider, train_button


@app.cell
def _(decisions, kappa_slider, titles):
    mo.vstack([mo.md("## 1. What each agent type would choose\n\nThe optimal cooperation level "
                     "(share of the endowment given or put in; 1 = cooperate, accept) against κ, "
                     "computed exactly. Where a line sits at 0.5 on a step, every action ties."),
               econ_plots.theory(decisions, kappa_slider.value, titles)])
    return


@app.cell
def _(all_games):
    game_pick = mo.ui.dropdown(options={g.title: g.id for g in all_games}, value=all_games[0].title,
                               label="game")
    game_pick
    return (game_pick,)


@app.cell
def _(all_games, game_pick):
    picked = next(g for g in all_games if g.id == game_pick.value)
    payoffs = mo.ui.dictionary({k: mo.ui.number(value=float(v), step=0.05, label=k)
                                for k, v in picked.settings[0].params.items()})
    mo.vstack([mo.md("**Payoffs** (edit them; the choice and its derivation follow):"), payoffs])
    return payoffs, picked


@app.cell
def _(kappa_slider, payoffs, picked):
    edited = checked(picked.with_params, dict(payoffs.value))
    _lines = []
    for _k in (0.0, kappa_slider.value):
        _c = economics.choose(economics.decision(edited), _k)
        _labels = {a.id: a.label for a in edited.actions()}
        _lines.append(f"- **κ = {_k:g}**: {' or '.join(_labels[b] for b in _c.best)}. *{_c.derivation}*")
    mo.md(f"> {edited.render()}\n\n" + "\n".join(_lines))
    return


@app.cell
def _(all_games, kappa_slider, size_slider):
    _examples = synthetic.generate(all_games, kappa_slider.value, size_slider.value, seed=0)
    _shown = "\n".join(json.dumps({"messages": e.messages}, ensure_ascii=False) for e in _examples[:3])
    mo.md(f"""
    ## 2. Synthetic training data (κ = {kappa_slider.value:g})

    {len(_examples)} **synthetic** examples per agent type: each game in turn with payoffs drawn
    at random (never one of the evaluation settings above), answered by the optimal action and
    its derivation. The first three lines of the JSONL (the chat fine-tuning format the
    human-data fine-tuning uses; write your own with `python -m helpers games synth`):

    ```json
    {_shown}
    ```
    """)
    return


@app.cell
def _(all_games, kappa_slider, params, size_slider, train_button):
    # Training costs CPU minutes: it waits for the button in a browser (adapters
    # trained before load at once); an export or a script run trains straight away.
    _train = train_button.value or spends_without_click(mo.app_meta())
    _plan = replace(params.train, size=size_slider.value)
    trained, train_note = econ_agents.fine_tune(all_games, [0.0, kappa_slider.value], _plan, train=_train,
                                                enabled=params.finetune)
    return train_note, trained


@app.cell
def _(train_note, trained):
    _table = table(agents.describe(trained), selection=None) if trained else mo.md("")
    _figure = econ_plots.losses(trained) if trained else mo.md("")
    mo.vstack([mo.md("## 3. Fine-tuned agents (LoRA on the offline model)"),
               mo.md(econ_agents.training_status(trained, train_note, "The measures below cover the base model only.")),
               _table, _figure])
    return


@app.cell
def _(models_box, params, samples_slider, trained):
    _agents = econ_agents.agent_list(trained, models_box.value.split(","))
    labels = {a.model: a.label for a in _agents}
    ask_config = checked(econ_agents.ask_config, _agents, samples_slider.value, params)
    econ_agents.shutdowns(ask_config)
    return ask_config, labels


@app.cell
def _(ask_config, params, run_button, settings):
    # Cached answers are free and show at once; new calls wait for the button
    # (an export or script run cannot click, so it makes the offline calls).
    _spend = run_button.value or spends_without_click(mo.app_meta())
    answers, ask_result = checked(econ_agents.ask, ask_config, settings, params, make_calls=_spend,
                                  title="Asking every game setting")
    return answers, ask_result


@app.cell
def _(answers, ask_result, decisions, kappa_slider, labels):
    _missing = ask_result.stats.missing
    _note = f" {_missing} answers are not cached yet: press the run button." if _missing else ""
    _agree = measures.agreement(answers, decisions, 0.0).merge(
        measures.agreement(answers, decisions, kappa_slider.value)[["model", "optimal_share"]],
        on="model", suffixes=("_kappa0", "_kappa"))
    _agree.insert(0, "agent", _agree["model"].map(labels))
    mo.vstack([mo.md(f"## 4. Measured choices\n\n`{ask_result.stats.line()}`.{_note} An answer counts only "
                     "if it opens with an allowed choice (rules in `helpers/choices.py`); everything else "
                     "is **invalid**, shown here and never counted as a choice. `optimal_share_kappa0` is "
                     "the share of valid answers a homo economicus would give; `optimal_share_kappa` the "
                     f"same for κ = {kappa_slider.value:g}." + call_details(ask_result.stats)),
               table(_agree.round(3), selection=None)])
    return


@app.cell
def _(answers, decisions, humans, kappa_slider, labels, titles):
    rates = measures.cooperation_rates(answers, decisions)
    _predicted = measures.predicted_cooperation(decisions, [0.0, kappa_slider.value])
    _shown, _labels = econ_humans.with_people(rates, labels, humans)
    econ_plots.cooperation(_shown, _predicted, _labels, kappa_slider.value, titles)
    return (rates,)


@app.cell
def _(answers, decisions, labels):
    _sens = measures.incentive_sensitivity(answers, decisions)
    _sens.insert(0, "agent", _sens["model"].map(labels))
    mo.vstack([mo.md("""
    ### Incentive sensitivity

    Per game, OLS slopes over the valid answers (HC1 standard errors): `slope_gain`, of the
    cooperation level on the own-payoff gain from cooperating (in units of the stake;
    positive = the agent cooperates more where cooperating costs it less), and
    `slope_threshold`, on the κ* a setting needs before cooperating pays (negative = less
    cooperation where more morality would be needed). Empty where the settings do not vary
    that quantity or too few answers are valid.
    """), table(_sens.drop(columns="model").round(3), selection=None)])
    return


@app.cell
def _(answers, decisions, humans, labels):
    fits = {labels[m]: measures.implied_kappa(g, decisions) for m, g in answers.groupby("model", sort=False)}
    _rows = [{"agent": k, "implied κ": f.kappa, "95% low": f.ci_low, "95% high": f.ci_high,
              "temperature τ": f.temperature, "valid answers": f.n, "p vs random": f.p_uniform,
              "note": f.note} for k, f in fits.items()] + [econ_humans.kappa_row(humans)]
    mo.vstack([mo.md("""
    ### Implied κ

    The κ that best explains each agent's valid answers under a logit choice model,
    P(a) ∝ exp(u_κ(a) / (τ·stake)), by maximum likelihood over κ = 0, 0.01, …, 1 with the
    temperature τ profiled out; the interval is the 95% likelihood-ratio set. `p vs random`
    tests the model against choosing uniformly at random: when it is large, the answers do not
    follow payoffs at all and no κ should be read from them. The people's row pools their
    choices the same way, but its interval resamples whole participants (each makes many
    choices, and people differ), so it is wider than the likelihood-ratio one its note gives
    (the figure shades the likelihood-ratio sets, the people's too).
    """), table(_rows, selection=None), econ_plots.kappa_profiles({**fits, humans.label: humans.fit})])
    return (fits,)


@app.cell
def _(rates):
    mo.vstack([mo.md("### Cooperation per game and payoff setting"),
               table(rates.round(3), selection=None, page_size=25)])
    return


@app.cell
def _(decisions, humans, labels, rates):
    mo.vstack([mo.md(f"""
    ## 5. People in the same games

    {econ_humans.note(humans)}

    Cooperation per game and payoff setting: the people's share (two-action games; Wilson
    95% interval) or mean share of the amount given (normal-approximation interval), then
    each agent's, measured above. Their implied κ is in the κ table and figure above.
    """), table(econ_humans.cooperation_table(humans, rates, labels, decisions), selection=None,
                page_size=25)])
    return


@app.cell
def _():
    mo.md(r"""
    ## What this does and does not show

    - The offline model is SmolLM2-135M-Instruct, a 135-million-parameter model. Its rates are
      real measurements **of that small model**, not of GPT-4o or of the models the sibling
      study used; run `openai/...` models (the text box, or `--model`) for those.
    - The training data are **synthetic**: optimal choices of a model of preferences, not
      human answers. A fine-tuned agent that matches them has learned the answers' pattern on
      these games; whether it reasons like homo moralis elsewhere is what notebook 08 probes.
    - Few answers per setting give wide intervals; raise the answers per setting for firmer
      estimates (cached answers are reused, only the missing ones are made).
    - The people's choices are **illustrative** unless section 5 says they were measured; even
      real choices are one sample of people, in games written for this workspace, so a gap
      between models and people here is about these prompts, not about people in general.
    """)
    return


@app.cell
def _(fits, humans, kappa_slider, labels):
    # What `make report` puts on the front page and atop the static report.
    headline.games_card(fits, labels.values(), kappa_slider.value, humans)
    return


if __name__ == "__main__":
    app.run()
