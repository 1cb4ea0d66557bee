// Line icons as static SVG markup (no emoji: not every system has a font for them).
// They inherit the text colour and are decorative: callers put them in aria-hidden places.

import { html } from "./html.js";

function icon(paths) {
  return html`<svg viewBox="0 0 24 24" width="32" height="32" fill="none" stroke="currentColor"
    stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"
    focusable="false">${paths}</svg>`;
}

export const ICONS = {
  pending: icon(html`<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>`),
  processing: icon(html`<path d="M20 12a8 8 0 1 1-2.34-5.66"/><path d="M20 4v4h-4"/>`),
  failed: icon(html`<path d="M12 3 2 20h20z"/><path d="M12 10v4"/><path d="M12 17h.01"/>`),
  // A page with a corner folded and a cross: the file is gone.
  missing: icon(html`<path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z"/><path d="M14 3v6h6"/><path d="m9.5 12.5 5 5M14.5 12.5l-5 5"/>`),
  film: icon(
    html`<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 4v16M17 4v16M3 9h4M3 15h4M17 9h4M17 15h4"/>`,
  ),
};
