import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="2.4 Transfer to unseen scenarios")

with app.setup:
    import marimo as mo

    from helpers.exceptions import levels_of, plots, reference
    from helpers.finetune import lora
    from helpers.finetune import evaluation as sft_eval
    from helpers.notebook import checked, headline, spends_without_click, table
    from helpers.notebook import finetuning
    from helpers.notebook.comparison import READING
    from helpers.notebook.validity import assess as assess_validity

    # What `make report` runs: LoRA adapters of the offline model on 50 illustrative
    # explanations (2 epochs) from each of two scenarios, each measured on the
    # scenarios it never saw; 28 training steps (the grocery adapter is the one
    # notebook 04 trains, so after 04 it is read from the cache) and 180 buckets:
    # the export took 1 min 8 s after notebook 04 on this project's two cores. The paper's five: `-- --train-scenario
    # grocery_prices,academic_integrity,customer_service,hospitality,personal_assistant --epochs 3`.
    DEFAULTS = {"train-scenario": "grocery_prices,hospitality"}
    KIND = "explanations"  # any of helpers.finetune.KINDS works: labels, labels-50 (same answers, no reasons)


@app.cell
def _():
    mo.md(r"""
    # 2.4 Transfer: fine-tuned models on scenarios they never saw

    **Claim (paper, Section 2.4, Figure 4; post hoc):** a GPT-4o fine-tuned on 50
    explained answers from *one* scenario also decides more like people in the nine
    scenarios it was not trained on. Averaged over its five such models the gap to the
    human refusal rates was 24.5% on unseen scenarios, against 15.9% on their own
    scenario and 42.7% for the base model (**paper-reported**). A Fisher randomization
    test over the six level labels (one permutation for all scenarios at once, 720 in
    all) gave p = .001, 0, 0, 0 and .01 for the five models: their rates follow the
    human level structure, they do not merely refuse less.

    Here one model per chosen scenario is trained on that scenario's explanations
    alone (LoRA on the offline model), then measured on **every other** scenario
    (`helpers.finetune.evaluation.unseen_scenarios` decides this, and never includes a model's
    own scenario), on its own scenario, and the base model on all of them. Only the training
    half of the participants (seeded split: `--split-seed`, `--train-fraction`) trains; on its
    own scenario a model is compared with the held-out half only.
    """)
    return


@app.cell
def _():
    study, training = checked(finetuning.open_training, mo.cli_args(), DEFAULTS)
    evaluated = [s for s in study.scenarios if not study.params.scenario_ids or s.id in study.params.scenario_ids]
    train_pick = mo.ui.multiselect(options={s.title: s.id for s in evaluated}, value=[s.title for s in evaluated if s.id in training.train_scenarios], label="train one model on each of")
    size_box = mo.ui.number(start=1, value=training.explanations_size, label="explanations per model (paper 50)")
    epochs_box = mo.ui.number(start=1, value=training.epochs, label="epochs")
    train_button = mo.ui.run_button(label="Train the missing models and measure them")
    mo.vstack([study.human.note(trained_on=True), train_pick, mo.hstack([size_box, epochs_box]), train_button])
    return epochs_box, evaluated, size_box, study, train_button, train_pick, training


@app.cell
def _(epochs_box, evaluated, size_box, study, train_pick, training):
    _ids = [s.id for s in evaluated if s.id in set(train_pick.value)]
    plan = checked(finetuning.plan_training, study, training, {KIND: size_box.value}, _ids, epochs_box.value)
    mo.stop(not plan.scenarios or len(evaluated) < 2, mo.md("**Choose at least one scenario to train on, and two scenarios in all.**"))
    mo.md(f"**Before the button:** {plan.models} models, {plan.steps} optimiser steps "
          f"(about {lora.estimated_time(plan.steps)} on two CPU cores the first time, idle to busy), "
          f"then {(plan.models + 1) * sum(len(levels_of(s, None, not study.params.no_control)) for s in evaluated)} "
          f"buckets to measure. They learn from "
          f"{len(plan.people.training)} training participants; {len(plan.people.evaluation)} are held out.")
    return (plan,)


@app.cell
def _(plan, study, train_button):
    # Training and measuring cost minutes: they wait for the button in the browser,
    # and run straight away in an export or a script (then the cache answers).
    spend = train_button.value or spends_without_click(mo.app_meta())
    trained = checked(finetuning.train, plan, study.human, train=spend)
    trained.view()
    return spend, trained


@app.cell
def _(evaluated, spend, study, trained):
    evaluation = checked(finetuning.measure, trained, study, evaluated, ("in-scenario", "transfer"), make_calls=spend)
    finetuning.measured_note(evaluation, study.params.mode)
    return (evaluation,)


@app.cell
def _(evaluation):
    # Before any comparison with people: can each model's rates be read as decisions
    # about exceptions at all? Later cells may use validity.verdict(agent label).
    validity = checked(assess_validity, sft_eval.figure_rates(evaluation.rates, ["in-scenario", "transfer", "base"], by="agent"))
    validity.view()
    return (validity,)


@app.cell
def _(evaluated, evaluation, study):
    plots.figure4(sft_eval.figure_rates(evaluation.rates, ["transfer"]), evaluated,
                  **study.human.figure_args(),
                  title=study.human.title("Transfer: fine-tuned models on scenarios they were not trained on",
                                          " (illustrative data)"))
    return


@app.cell
def _(evaluation, study):
    gaps = sft_eval.gap_table(evaluation.rates, study.human.data, evaluation.people)
    overall = sft_eval.overall_gaps(gaps, KIND)
    return gaps, overall


@app.cell
def _(evaluation, overall, study, validity):
    _paper = reference.paper_reported().query("metric == 'mean_abs_diff' and agent == 'gpt-4o'").set_index("variant")["value"]
    _paper_by_split = {"in-scenario": _paper.get("sft_explanations"), "transfer": _paper.get("sft_transfer"), "base": _paper.get("baseline")}
    _table = overall.assign(**{"paper-reported GPT-4o": overall["split"].map(_paper_by_split)})
    mo.vstack([mo.md(f"""
    ## In-scenario vs transfer vs base

    Mean absolute difference between the model's and the humans' ({study.human.label}) refusal
    rates: for the fine-tuned models the mean over models of each one's gap, for the base
    model its gap over every measured bucket. Beside it the **paper-reported** GPT-4o figures
    (15.9% / 24.5% / 42.7%), which come from other models and other people.
    {finetuning.held_out_note(evaluation, transfer=True)}
    """), validity.beside_paper(_table)])
    return


@app.cell
def _(evaluation, gaps, study):
    mo.vstack([mo.md("""
    ## Per model, with the level permutation test

    `base_mean_abs_diff` is the base model's gap on exactly the same buckets. The permutation
    test (transfer rows) relabels the six levels in every unseen scenario at once and asks how
    many of the 720 orderings bring the model's rates at least as close to the humans' as the
    true order: a small p means the model follows the human level structure; p near 1 means
    any ordering fits as well (for example a flat curve, which only says how often it refuses).
    """), table(gaps.round(4), selection=None),
        mo.md(f"### Each transfer gap beside its reference points (measured, all participants)\n\n{READING}"),
        table(finetuning.references(evaluation, study.human, ("transfer",), by="agent",
                                          compared_as="transfer"), selection=None)])
    return


@app.cell
def _(gaps, validity):
    _paper = reference.paper_reported().query("metric == 'permutation_p'")[["scenario", "value", "source"]]
    _ours = gaps[gaps["split"] == "transfer"][["agent", "trained_on", "permutation_p", "permutations"]]
    _table = _ours.merge(_paper.rename(columns={"scenario": "trained_on", "value": "paper-reported p (GPT-4o)",
                                                "source": "paper-reported in"}), on="trained_on", how="left")
    mo.vstack([mo.md("**Permutation p-values beside the paper-reported ones** (the paper trained on five scenarios; "
                     "its p is blank for a scenario it did not train on):"), validity.beside_paper(_table)])
    return


@app.cell
def _():
    mo.md(r"""
    ## What the offline model can and cannot show

    - **It does show** the transfer design run end to end: one model per training scenario,
      a split that never measures a model on its own scenario, gaps against the base model on
      the same buckets, and the level permutation test per model, all from the same cached
      calls a real run would make. Train on real explanations, or pass `openai/ft:...` models
      from `python -m helpers finetune`, and the same cells answer the paper's question.
    - **It does not show** whether explanations transfer in a capable model. A 135M model fed
      a few dozen short explanations mostly learns how often to say yes; its curves stay
      nearly flat across levels, so a small gap here can come from refusing less, and the
      permutation test is there to tell the two apart. The paper's GPT-4o result is a
      paper-reported figure, not something this run reproduces or refutes.
    - With the **illustrative** answers, the "humans" are a generator whose explanations are
      a handful of stock sentences shared by all scenarios; transfer of that style across
      scenarios is built in, and says nothing about people.
    """)
    return


@app.cell
def _(evaluation, overall, study, validity):
    # What `make report` puts on the front page and atop the static report.
    headline.transfer_card("2.4", "Transfer to unseen scenarios", overall, evaluation, study.human, validity)
    return


if __name__ == "__main__":
    app.run()
