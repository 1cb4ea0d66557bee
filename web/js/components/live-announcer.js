// <live-announcer>: a polite live region, out of sight, for news that arrives without the
// person asking (a generation finished or failed). Each message is a new paragraph, so a
// screen reader reads it even when the same words come twice; only the last few are kept.
//
// Methods: say(message).

import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const KEEP = 5;

const styles = css`
  :host { display: block; }
`;

class LiveAnnouncer extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="visually-hidden" id="region" role="status" aria-live="polite" aria-atomic="false"></div>`,
      );
    }
  }

  say(message) {
    const region = this.shadowRoot.getElementById("region");
    if (!region || !message) return;
    const line = document.createElement("p");
    line.textContent = message;
    region.append(line);
    while (region.childElementCount > KEEP) region.firstElementChild.remove();
  }
}

customElements.define("live-announcer", LiveAnnouncer);
