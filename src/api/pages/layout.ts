import { html, type Html } from './html.ts';

/** The page shell: no scripts, one small stylesheet, a viewport for phones. */
export function layout(title: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="/assets/catalog.css" />
      </head>
      <body>
        <header class="top">
          <a href="/" class="brand">kiln</a> <span class="muted">image catalog</span>
        </header>
        <main>${body}</main>
        <footer class="muted">
          Images are rebuilt continuously, signed, and shipped with an SBOM and provenance. JSON:
          <a href="/api/images">/api/images</a>
        </footer>
      </body>
    </html> `;
}
