"""A few participants in a real browser (Debian's Chromium under Playwright), run
beside the protocol clients so that the bench's figures are checked against real
pages: the page's script runs (edit and paste counts), the browser follows the
redirects and sends the form as browsers do (CRLF line breaks, its own
connections), and the time from a click to the next page being loaded is measured
where a person would see it.

The browser fills each page with the same rules as the protocol client
(survey_load_client.fill: consent ticked, a radio per group, the attention check's
answer, an explanation typed into each empty textarea). Every request to anything
but the survey server is aborted (no network, no downloads).
"""

from __future__ import annotations

import random
import time

from survey_load_client import EXPLANATIONS, Form, Outcome, fill, prolific_params
from survey_load_server import REPO  # noqa: F401  (puts tests/ on the path)

from browser import CHROMIUM, CHROMIUM_ARGS

MAX_PAGES = 200

READ_FORM = """() => {
  const form = document.querySelector('form[method=post]');
  if (!form) return null;
  return {text: document.body.innerText,
          fields: Array.from(form.elements).filter(e => e.name).map(e => ({
            tag: e.tagName.toLowerCase(), type: (e.type || 'text').toLowerCase(),
            name: e.name, value: e.value, checked: !!e.checked}))};
}"""


async def browser_participant(browser, base: str, number: int, checks: dict[str, str], completion: str | None,
                              step_times: list[float], think: float = 0.0, seed: int = 0) -> Outcome:
    rng = random.Random(f"browser-{seed}-{number}")
    out = Outcome(f"browser{number}")
    context = await browser.new_context()
    aborted: list[str] = []

    async def route(r):
        if r.request.url.startswith(base):
            await r.continue_()
        else:
            aborted.append(r.request.url)
            await r.abort()

    await context.route("**/*", route)
    page = await context.new_page()
    begun = time.monotonic()
    try:
        params = prolific_params(1_000_000 + number, rng)
        link = f"{base}/?" + "&".join(f"{k}={v}" for k, v in params.items())
        response = await page.goto(link)
        out.started = response is not None and response.ok
        for _ in range(MAX_PAGES):
            info = await page.evaluate(READ_FORM)
            if info is None:
                text = await page.inner_text("body")
                out.finished = bool(completion) and completion in text
                if not out.finished:
                    out.problem = f"a page with nothing to submit and no completion code: {text[:120]!r}"
                break
            text = " ".join(info["text"].split())
            values = fill(Form(page.url, info["fields"]), text, checks, rng)
            form = page.locator("form[method=post]").first
            kinds = {f["name"]: f["type"] for f in info["fields"]}
            for name, value in values:
                kind = kinds.get(name)
                if kind == "checkbox":
                    await form.locator(f'input[type=checkbox][name="{name}"]').check()
                elif kind == "radio":
                    radios = form.locator(f'input[type=radio][name="{name}"]')
                    for i in range(await radios.count()):
                        if await radios.nth(i).get_attribute("value") == value:
                            await radios.nth(i).check()
                            break
                elif kind == "textarea" and value in EXPLANATIONS:
                    await form.locator(f'textarea[name="{name}"]').fill(value)
            if think:
                await page.wait_for_timeout(1000 * rng.uniform(0.5, 1.5) * think)
            sent = dict(values)
            step = sent.get("step")
            clicked = time.monotonic()
            async with page.expect_navigation() as navigation:
                await form.locator("[type=submit]").first.click()
            response = await navigation.value
            step_times.append(time.monotonic() - clicked)
            if out.code is None and "/s/" in page.url:
                out.code = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            if step:
                if response is not None and response.ok:
                    out.answers[step] = sent
                else:
                    out.unacknowledged[step] = sent
        else:
            out.problem = f"not finished after {MAX_PAGES} pages"
    except Exception as exc:  # a browser failure is reported with the run, not a traceback
        out.problem = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        out.seconds = time.monotonic() - begun
        await context.close()
    if aborted:
        out.problem = (out.problem or "") + f" ({len(aborted)} non-local requests aborted)"
    return out


async def launch(pw):
    return await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
