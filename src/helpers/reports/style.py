"""The reports' own stylesheet, inline in every page: light, readable on screen and
on paper, and fetching nothing (system fonts, no images)."""

CSS = """
:root { --ink: #1d2329; --muted: #5b6670; --line: #d9dee3; --soft: #f5f7f9; --link: #1558b0;
        --green: #1e7b3c; --green-bg: #e8f5ec; --red: #a32020; --red-bg: #fbeaea;
        --amber: #8a5a00; --amber-bg: #fdf3df; --blue: #1a5a96; --blue-bg: #e9f1fa; }
* { box-sizing: border-box; }
html { color: var(--ink); background: #fff; }
body { margin: 0 auto; max-width: 64rem; padding: 1.5rem 1.25rem 3rem;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
a { color: var(--link); }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0.6rem 0 0.8rem; }
h2 { font-size: 1.35rem; margin: 1.8rem 0 0.6rem; border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
h3 { font-size: 1.1rem; margin: 1.3rem 0 0.5rem; }
.paragraph { display: block; margin: 0.6rem 0; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.88em; }
code { background: var(--soft); padding: 0.05em 0.3em; border-radius: 3px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0.6rem 0.8rem;
      overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
pre code { background: none; padding: 0; }
nav.top { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; font-size: 0.9rem; color: var(--muted);
          border-bottom: 1px solid var(--line); padding-bottom: 0.5rem; margin-bottom: 0.5rem; }
.cell { margin: 0.4rem 0 1rem; }
img.figure { display: block; max-width: 100%; height: auto; margin: 0.8rem 0; }
.table-wrap { overflow-x: auto; margin: 0.6rem 0; max-width: 100%; }
table.data { border-collapse: collapse; font-size: 0.82rem; line-height: 1.35; width: max-content; }
table.data caption { text-align: left; font-weight: 600; padding: 0.2rem 0; }
table.data th, table.data td { border: 1px solid var(--line); padding: 0.2rem 0.45rem; vertical-align: top;
                               text-align: left; max-width: 26rem; overflow-wrap: break-word; }
table.data th { background: var(--soft); position: sticky; top: 0; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data tbody tr:nth-child(even) td { background: #fafbfc; }
main table:not(.data) { border-collapse: collapse; margin: 0.6rem 0; }
main table:not(.data) th, main table:not(.data) td { border-bottom: 1px solid var(--line); padding: 0.2rem 0.6rem;
                                                      text-align: left; }
.note { color: var(--muted); font-size: 0.88rem; margin: 0.3rem 0; }
.callout { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 4px;
           padding: 0.5rem 0.9rem; margin: 0.8rem 0; background: var(--soft); }
.callout-danger { border-left-color: var(--red); background: var(--red-bg); }
.callout-warn { border-left-color: var(--amber); background: var(--amber-bg); }
.callout-success { border-left-color: var(--green); background: var(--green-bg); }
.callout-info { border-left-color: var(--blue); background: var(--blue-bg); }
.settings { font-size: 0.85rem; color: var(--muted); background: var(--soft); border-radius: 4px;
            padding: 0.35rem 0.7rem; margin: 0.6rem 0; }
.settings .value { color: var(--ink); font-weight: 600; }
.group-label { font-weight: 600; margin: 0.5rem 0 0.2rem; }
.headline { border: 1px solid var(--line); border-left: 6px solid var(--muted); border-radius: 6px;
            padding: 0.7rem 1rem; margin: 1rem 0 1.4rem; background: var(--soft); }
.verdict-box-interpretable { border-left-color: var(--green); }
.verdict-box-not-interpretable { border-left-color: var(--red); }
.verdict-box-mixed { border-left-color: var(--amber); }
.headline-verdict { margin: 0 0 0.4rem; }
.headline-figures { margin: 0.3rem 0 0; padding-left: 1.2rem; }
.verdict { display: inline-block; font-weight: 700; font-size: 0.85rem; padding: 0.05rem 0.5rem;
           border-radius: 999px; border: 1px solid currentColor; white-space: nowrap; }
.verdict-interpretable { color: var(--green); background: var(--green-bg); }
.verdict-not-interpretable { color: var(--red); background: var(--red-bg); }
.verdict-mixed { color: var(--amber); background: var(--amber-bg); }
.verdict-not-applicable, .verdict-none, .verdict-unknown { color: var(--muted); background: #fff; }
.verdict-detail { color: var(--muted); font-size: 0.9rem; }
.kind { font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted);
        border: 1px solid var(--line); border-radius: 3px; padding: 0 0.3rem; white-space: nowrap; }
.kind-measured { color: var(--green); border-color: currentColor; }
.kind-illustrative, .kind-synthetic { color: var(--amber); border-color: currentColor; }
.kind-paper-reported { color: var(--blue); border-color: currentColor; }
details { margin: 0.4rem 0; }
details > summary { cursor: pointer; color: var(--muted); font-size: 0.85rem; }
details.code pre { margin-top: 0.3rem; }
.stat { display: inline-block; border: 1px solid var(--line); border-radius: 4px; padding: 0.3rem 0.7rem; margin: 0.2rem; }
footer { margin-top: 2.5rem; border-top: 1px solid var(--line); padding-top: 0.8rem; font-size: 0.85rem; color: var(--muted); }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0; }
footer dt { font-weight: 600; }
footer dd { margin: 0; }
table.index { border-collapse: collapse; width: 100%; }
table.index th, table.index td { border-bottom: 1px solid var(--line); padding: 0.7rem 0.6rem; vertical-align: top; text-align: left; }
table.index th { font-size: 0.85rem; color: var(--muted); }
body.index-page { max-width: 80rem; }
table.index img.thumb { display: block; width: auto; height: auto; max-width: min(320px, 40vw); max-height: 220px;
                        border: 1px solid var(--line); }
table.index .title { font-weight: 600; font-size: 1.05rem; }
table.index .links { font-size: 0.85rem; }
table.index ul { margin: 0.2rem 0; padding-left: 1.1rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav.top { display: none; }
  .cell, .headline, img.figure, table.data tr { break-inside: avoid; }
  a { color: inherit; }
  table.data th { position: static; }
  .table-wrap { overflow: visible; }
}
"""
