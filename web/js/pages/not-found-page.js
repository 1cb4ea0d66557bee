// <not-found-page>: an address the gallery does not know (the server answers such a page with a
// 404 status). Says so plainly and offers the way back to the videos.
//
// Properties: none.

import { css, html, render } from "../lib/html.js";
import { ICONS } from "../lib/icons.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host { display: block; }
  section {
    display: grid; justify-items: center; gap: var(--space-3);
    max-width: 36rem;
    margin: var(--space-7) auto;
    text-align: center;
  }
  .icon { display: grid; color: var(--color-text-muted); }
  h1 { font-size: var(--text-2xl); line-height: var(--leading-tight); }
  p { color: var(--color-text-muted); }
  .address { font-family: var(--font-mono); font-size: var(--text-sm); overflow-wrap: anywhere; }
  .button { margin-top: var(--space-3); }
`;

class NotFoundPage extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  connectedCallback() {
    if (this.shadowRoot.firstChild) return;
    render(
      this.shadowRoot,
      html`<section aria-labelledby="title">
        <span class="icon" aria-hidden="true">${ICONS.failed}</span>
        <h1 id="title">Page not found</h1>
        <p>There is no page at this address. The link may be wrong, or the page has moved.</p>
        <p class="address"></p>
        <a class="button primary" href="/gallery">Go to your videos</a>
      </section>`,
    );
    this.shadowRoot.querySelector(".address").textContent = location.pathname;
  }
}

customElements.define("not-found-page", NotFoundPage);
