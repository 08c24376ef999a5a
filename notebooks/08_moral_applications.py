import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Moral applications: dilemmas and pricing")

with app.setup:
    import marimo as mo

    from helpers import economics
    from helpers.economics import agents, dilemmas, duopoly, measures, play
    from helpers.economics import plots as econ_plots
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import econ_agents
    from helpers.notebook.runs import call_details


@app.cell
def _():
    mo.md(r"""
    # Moral applications: who bears the risk, and what price to set

    **Claim (sibling study, Lu, Chen and Hansen; summary in `shared/seeds`):** agents
    fine-tuned toward *homo economicus* or *homo moralis* behave differently outside the
    games they were trained on: in moral dilemmas with autonomous vehicles and in
    algorithmic pricing, the preferences embedded by fine-tuning change the moral and
    market outcomes. We have the study's summary, not its numbers.

    Two applications, each with its exact benchmark:

    1. **Autonomous-vehicle dilemmas.** The agent rides in its own car when the brakes fail:
       stay in lane (risk on the pedestrians) or swerve (risk on the car's occupants, itself
       included). Homo economicus never swerves; homo moralis asks what its risk would be if
       every car were set its way, and swerves when κ is large enough.
    2. **Repeated duopoly pricing.** Two copies of an agent set prices round after round under
       a stated linear demand. Benchmarks: the competitive (Bertrand-Nash) price, the
       joint-profit (collusive) price, and the homo moralis equilibrium p(κ) between them.

    The agents are the offline model and its fine-tuned versions from notebook 07 (the same
    synthetic data and settings, so the adapters are reused when 07 ran first).
    """)
    return


@app.cell
def _():
    params, all_games = checked(econ_agents.open_games, mo.cli_args())
    return all_games, params


@app.cell
def _(params):
    kappa_slider = mo.ui.slider(0.05, 1.0, step=0.05, value=max(0.05, params.kappa), show_value=True,
                                label="κ of the homo moralis agent")
    _fam = dilemmas.DEFAULT_FAMILY
    passengers_pick = mo.ui.multiselect(options=["1", "2", "3", "4"], value=[str(v) for v in _fam["passengers"]],
                                        label="people in the car")
    pedestrians_pick = mo.ui.multiselect(options=["1", "2", "3", "5", "10"],
                                         value=[str(v) for v in _fam["pedestrians"]], label="pedestrians")
    p_in_pick = mo.ui.multiselect(options=["0.05", "0.1", "0.2", "0.4", "0.6", "0.8"],
                                  value=[str(v) for v in _fam["p_passengers"]], label="risk in the car (swerve)")
    p_out_pick = mo.ui.multiselect(options=["0.2", "0.5", "0.8", "1"],
                                   value=[str(v) for v in _fam["p_pedestrians"]], label="risk on the road (stay)")
    samples_slider = mo.ui.slider(1, max(50, params.samples), value=params.samples, show_value=True, label="answers per dilemma")
    mo.vstack([kappa_slider, mo.hstack([passengers_pick, pedestrians_pick]), mo.hstack([p_in_pick, p_out_pick]),
               samples_slider])
    return kappa_slider, p_in_pick, p_out_pick, passengers_pick, pedestrians_pick, samples_slider


@app.cell
def _(params):
    _m = duopoly.Market()
    market_form = mo.ui.dictionary({
        "a": mo.ui.number(value=_m.a, step=0.5, label="demand intercept a"),
        "b": mo.ui.number(value=_m.b, step=0.1, label="own-price effect b"),
        "d": mo.ui.number(value=_m.d, step=0.1, label="cross-price effect d"),
        "cost": mo.ui.number(value=_m.cost, step=0.5, label="unit cost c"),
        "p_max": mo.ui.number(value=_m.p_max, step=0.5, label="highest price"),
    })
    rounds_slider = mo.ui.slider(1, max(50, params.rounds), value=params.rounds, show_value=True, label="rounds")
    sessions_slider = mo.ui.slider(1, max(20, params.sessions), value=params.sessions, show_value=True, label="sessions per pair")
    train_button = mo.ui.run_button(label="Fine-tune the offline model (CPU, minutes)")
    run_button = mo.ui.run_button(label="Run the missing calls")
    mo.vstack([mo.md("**Market** (q = a − b·p + d·p_rival):"), market_form,
               mo.hstack([rounds_slider, sessions_slider]), mo.hstack([train_button, run_button])])
    return market_form, rounds_slider, run_button, sessions_slider, train_button


@app.cell
def _(p_in_pick, p_out_pick, passengers_pick, pedestrians_pick):
    family = checked(dilemmas.family, [int(v) for v in passengers_pick.value],
                     [int(v) for v in pedestrians_pick.value], [float(v) for v in p_in_pick.value],
                     [float(v) for v in p_out_pick.value])
    dilemma_decisions = play.decisions(family)
    return dilemma_decisions, family


@app.cell
def _(family, kappa_slider):
    _rows = [{"#": _n + 1, "dilemma": d.describe(), "swerves from κ": ", ".join(f"{float(k):.3f}" for k in
                                                                 economics.switch_points(d.decision())) or "never (κ < 1)",
              "κ = 0": "|".join(economics.choose(d.decision(), 0).best),
              f"κ = {kappa_slider.value:g}": "|".join(economics.choose(d.decision(), kappa_slider.value).best)}
             for _n, d in enumerate(family)]
    mo.vstack([mo.md("## 1. Dilemmas: what each agent type would do\n\n"
                     f"> {family[0].render()}\n\n*Derivation at κ = {kappa_slider.value:g}:* "
                     f"{economics.choose(family[0].decision(), kappa_slider.value).derivation}"),
               table(_rows, selection=None)])
    return


@app.cell
def _(kappa_slider, market_form):
    market = checked(duopoly.Market, **market_form.value)
    benchmarks = market.benchmarks(kappa_slider.value)
    mo.vstack([mo.md(f"## 2. Pricing: the benchmarks\n\n{market.rules()}"),
               table(benchmarks.round(3), selection=None),
               econ_plots.moralis_prices(market, kappa_slider.value)])
    return benchmarks, market


@app.cell
def _(all_games, kappa_slider, params, train_button):
    # The same fine-tuning as notebook 07: waits for the button in a browser (earlier
    # adapters load at once), trains straight away in an export or a script run.
    _train = train_button.value or spends_without_click(mo.app_meta())
    trained, train_note = econ_agents.fine_tune(all_games, [0.0, kappa_slider.value], params.train, train=_train,
                                                enabled=params.finetune)
    return train_note, trained


@app.cell
def _(params, samples_slider, train_note, trained):
    agent_list = econ_agents.agent_list(trained, list(params.models))
    labels = {a.model: a.label for a in agent_list}
    ask_config = checked(econ_agents.ask_config, agent_list, samples_slider.value, params)
    mo.vstack([mo.md("## 3. Agents"), mo.md(econ_agents.training_status(trained, train_note, "Only the base model plays below.")),
               table(agents.describe(agent_list), selection=None), econ_agents.shutdowns(ask_config)])
    return agent_list, ask_config, labels


@app.cell
def _(ask_config, family, params, run_button):
    # Cached answers are free; new calls wait for the button (an export or a
    # script run cannot click, so it makes the offline calls).
    spend = run_button.value or spends_without_click(mo.app_meta())
    dilemma_answers, dilemma_result = checked(econ_agents.ask, ask_config, family, params, make_calls=spend,
                                              title="Asking every dilemma")
    return dilemma_answers, dilemma_result, spend


@app.cell
def _(dilemma_answers, dilemma_decisions, dilemma_result, family, kappa_slider, labels):
    _rates = measures.cooperation_rates(dilemma_answers, dilemma_decisions)
    _predicted = measures.predicted_cooperation(dilemma_decisions, [0.0, kappa_slider.value])
    _missing = dilemma_result.stats.missing
    _note = f" {_missing} answers are not cached yet: press the run button." if _missing else ""
    mo.vstack([mo.md(f"## 4. Dilemmas: what the agents do\n\n`{dilemma_result.stats.line()}`.{_note} "
                     "Share of valid answers that swerve (take the risk onto the car), with 95% Wilson "
                     "intervals; answers that do not open with *stay* or *swerve* are invalid and left out."
                     + call_details(dilemma_result.stats)),
               econ_plots.cooperation(_rates, _predicted, labels, kappa_slider.value,
                                      {"av_dilemma": "Autonomous vehicle (dilemmas numbered as in section 1)"},
                                      ylabel="share swerving",
                                      ticks={d.item: str(_n + 1) for _n, d in enumerate(family)}),
               table(_rates.drop(columns=["game"]).round(3), selection=None)])
    return


@app.cell
def _(dilemma_answers, dilemma_decisions, labels):
    dilemma_fits = {labels[m]: measures.implied_kappa(g, dilemma_decisions)
             for m, g in dilemma_answers.groupby("model", sort=False)}
    _rows = [{"agent": k, "implied κ": f.kappa, "95% low": f.ci_low, "95% high": f.ci_high, "valid answers": f.n,
              "p vs random": f.p_uniform, "note": f.note} for k, f in dilemma_fits.items()]
    mo.vstack([mo.md("The κ implied by the dilemma answers alone (same logit model and likelihood-ratio "
                     "interval as notebook 07):"), table(_rows, selection=None)])
    return (dilemma_fits,)


@app.cell
def _(agent_list, ask_config, market, params, rounds_slider, sessions_slider, spend):
    prices = checked(econ_agents.play_pricing, ask_config, market, agent_list, params, rounds=rounds_slider.value,
                     sessions=sessions_slider.value, make_calls=spend)
    return (prices,)


@app.cell
def _(benchmarks, market, prices):
    pricing = duopoly.summary(prices, market)
    _waiting = int((prices["status"] == "not run").sum())
    _note = f" {_waiting} sessions wait for the run button." if _waiting else ""
    mo.vstack([mo.md("## 5. Pricing: what the agents do\n\nEach agent plays against a copy of itself "
                     "(firm 1 and firm 2 sample their own answers). Red crosses mark invalid answers, after "
                     "which the firm's previous price stood. Over the last five rounds, `mean_price` averages the "
                     "prices the agents chose (carried prices excluded) and `profit_gain` is (profit − Nash "
                     "profit) / (collusive profit − Nash profit) over `valid_rounds`, the rounds where both "
                     "firms answered validly: 0 is competitive, 1 collusive."
                     + _note),
               econ_plots.price_paths(prices, benchmarks), table(pricing.round(3), selection=None)])
    return (pricing,)


@app.cell
def _():
    mo.md(r"""
    ## What this does and does not show

    - The offline model is SmolLM2-135M-Instruct (135M parameters). Its answers are real
      measurements **of that small model**; many are invalid (not a choice at all), and
      those are shown, not guessed. They say nothing about GPT-4o or any model the sibling
      study used; pass `--model openai/...` (or an OpenAI-compatible server) for those.
    - The fine-tuned agents learned from **synthetic** game data only (notebook 07): neither
      dilemmas nor pricing were in their training. Whatever they do here is transfer, or its
      absence.
    - The dilemma's "everyone-as-me" payoff assumes the agent is equally likely to be anyone
      involved in such an accident; the pricing benchmarks assume the stated linear demand.
      Both are modelling choices, stated in `helpers/dilemmas.py` and `helpers/duopoly.py`.
    """)
    return


@app.cell
def _(dilemma_fits, labels, pricing):
    # What `make report` puts on the front page and atop the static report.
    headline.applications_card(dilemma_fits, pricing, labels.values())
    return


if __name__ == "__main__":
    app.run()
