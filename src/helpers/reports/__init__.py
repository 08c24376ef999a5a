"""Reports that open anywhere: a static page rendered from a `marimo export html` file.

marimo's export loads its frontend from a public CDN, so without internet it shows a
blank page. The export also embeds what every cell displayed (its session), and that is
what these modules turn into plain HTML: no JavaScript, no fetch, figures as data: URIs.

    exported   read an export: cells in order, their code and outputs
    sanitize   strip anything active or fetched from HTML the notebooks produced
    tables     marimo's table element as a real <table>, every cell escaped
    images     figures as <img> with data: URIs
    elements   marimo's output bundles and custom elements (callouts, inputs, buttons) as static HTML
    outputs    one cell output (markdown, HTML, image, text, error), drawn and made inert
    headline   the notebooks' headline card (what a report found, in a few figures)
    provenance the footer's facts: workspace version, date, models, data sources
    page       one report page
    index      the front page, one row per report, with thumbnails of the main figures
    thumbnails the main figure, downscaled for the front page
"""
