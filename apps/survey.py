import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Decisions survey")

with app.setup:
    import html

    import marimo as mo

    from helpers.humans import survey
    from helpers.notebook import checked
    from helpers.notebook import survey_page


@app.cell
def _():
    params, survey_scenarios = checked(survey_page.open_survey, mo.cli_args())
    store = survey.SurveyStore()
    # The URL is read once per session: `?p=CODE` brings a participant back,
    # `?view=organiser` (with `&key=...` when a key is set) shows the organiser's page.
    _query = mo.query_params()
    organiser = survey.organiser_allowed(_query.get("view"), _query.get("key"))
    url_code = survey.parse_code(_query.get("p"))
    # With no browser (HTML export, script run) nobody can take part: show the organiser's summary.
    in_browser = mo.app_meta().request is not None
    return in_browser, organiser, params, store, survey_scenarios, url_code


@app.cell
def _(survey_scenarios):
    mo.md(f"""
    # A short survey about everyday decisions

    You will read {len(survey_scenarios)} short situations. In each one there is a rule,
    and a reason to make an exception to it. Decide what you would do (**Yes** or **No**)
    and say in a sentence or two why. It takes about a minute per situation.
    """)
    return


@app.cell
def _():
    # Drawn once per session, so pressing Start twice registers one participant.
    draft_code = survey.new_code()
    consent = mo.ui.form(
        mo.ui.checkbox(label="I have read the information above and agree to take part."),
        submit_button_label="Start", validate=lambda ok: None if ok else "Please tick the box to take part.")
    resume = mo.ui.form(
        mo.ui.text(placeholder="abcd-efgh-jkmn", max_length=20, label="Been here before? Your code:"),
        submit_button_label="Continue",
        validate=lambda code: None if survey.parse_code(code) else "That does not look like a code (12 letters and digits).")
    return consent, draft_code, resume


@app.cell
def _(consent, draft_code, params, resume, store, survey_scenarios, url_code):
    participant, problem = survey_page.identify(store, survey_scenarios, params.study, url_code=url_code,
                                                typed_code=resume.value, consented=bool(consent.value),
                                                draft_code=draft_code)
    if participant is not None and mo.query_params().get("p") != participant.code:
        mo.query_params()["p"] = participant.code  # a reload of this page comes back here
    return participant, problem


@app.cell
def _(consent, in_browser, organiser, participant, problem, resume):
    mo.stop(organiser or participant is not None)
    _note = "" if in_browser else "*(Shown as participants see it; nobody can take part from this exported page.)*"
    mo.vstack([
        mo.md(f"""
        ## Before you start

        - Taking part is voluntary; you may stop at any time by closing the page.
        - We store your answers, your explanations and when you gave them, under a
          random code. We never ask for your name or e-mail; please do not write
          them in your explanations.
        - The answers are used to compare people's decisions with those of AI
          models, for research and teaching.
        {_note}
        """),
        consent,
        resume,
        mo.callout(mo.plain_text(problem), kind="danger") if problem else mo.md(""),
    ])
    return


@app.cell
def _(participant, store, survey_scenarios):
    mo.stop(participant is None)
    questions = checked(store.questions, participant, survey_scenarios)
    return (questions,)


@app.cell
def _(questions):
    # One form per question, made once; the page shows only the next unanswered one.
    question_forms = mo.ui.array([
        mo.ui.form(
            mo.md("{decision}\n\n{explanation}").batch(
                decision=mo.ui.radio(["Yes", "No"], label="Your decision"),
                explanation=mo.ui.text_area(max_length=survey.MAX_EXPLANATION, rows=3, full_width=True,
                                            label=f"Why? (up to {survey.MAX_EXPLANATION} characters)"),
            ),
            submit_button_label="Save and continue",
            validate=lambda v: survey.check_answer((v or {}).get("decision"), (v or {}).get("explanation")),
        )
        for _ in questions
    ])
    return (question_forms,)


@app.cell
def _(participant, question_forms, questions, store):
    # Every submitted form is saved at once (the store ignores one already saved).
    save_errors = survey_page.save_answers(store, participant, questions, question_forms.value)
    answered = store.answered(participant)
    return answered, save_errors


@app.cell
def _(answered, participant, question_forms, questions, save_errors):
    _pending = [i for i, q in enumerate(questions) if q.scenario.id not in answered]
    _code = survey.format_code(participant.code)
    _errors = [mo.callout(mo.plain_text(e), kind="danger") for e in save_errors]
    if not _pending:
        _page = mo.md(f"## Thank you!\n\nAll {len(questions)} answers are saved. You can close this page.")
    else:
        _i = _pending[0]
        _page = mo.vstack([
            mo.md(f"**Question {len(questions) - len(_pending) + 1} of {len(questions)}**"),
            mo.Html(f"<p style='font-size:1.1em'>{html.escape(questions[_i].prompt)}</p>"),
            question_forms[_i],
        ])
    mo.vstack([*_errors, _page, mo.md(f"<small>Your code: `{_code}` (to continue later on another device)</small>")])
    return


@app.cell
def _(in_browser, organiser, params, store, survey_scenarios):
    mo.stop(in_browser and not organiser)
    _progress = store.progress()
    _where = "no answers yet" if not store.path.is_file() else f"`{store.path}`"
    export_button = mo.ui.run_button(label="Export to the human-responses file")
    mo.vstack([
        mo.md(f"""
        ## Organiser: responses so far

        Database: {_where}. Study name for new participants: `{params.study}`.
        **{_progress['participants']}** participants consented, **{_progress['completed']}**
        finished, **{_progress['answers']}** answers saved. Counts per bucket
        (scenario x level; levels are drawn uniformly, so buckets fill evenly on average):
        """),
        mo.ui.table(store.bucket_table(survey_scenarios), selection=None, page_size=50),
        export_button if in_browser else mo.md("*(To export, open the organiser's page that `make survey` prints.)*"),
    ])
    return (export_button,)


@app.cell
def _(export_button, store, survey_scenarios):
    mo.stop(not export_button.value)
    _path, _rows = checked(store.export, survey_scenarios)
    mo.vstack([
        mo.md(f"Wrote **{_rows}** answers to `{_path}`; `notebooks/01_baseline.py` now compares the models with them."),
        mo.download(data=_path.read_bytes(), filename=_path.name, mimetype="text/csv", label="Download the CSV"),
    ])
    return


if __name__ == "__main__":
    app.run()
