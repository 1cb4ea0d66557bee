// <status-message>: the page-wide polite live region for notices such as "Video deleted".
// It stays in the document (empty and flat when there is nothing to say) so that screen
// readers announce each new message.
//
// Properties: message (string; "" clears it), tone ("success" | "info" | "error").
// Events: none; the dismiss button clears the message itself.

import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host { display: block; }
  .wrap {
    max-width: var(--content-max);
    margin-inline: auto;
    padding-inline: var(--page-gutter);
  }
  .banner {
    display: flex; align-items: center; gap: var(--space-3);
    margin-top: var(--space-4);
    padding: var(--space-3) var(--space-4);
    border-radius: var(--radius-md);
    background: var(--color-success-surface);
    color: var(--color-success-text);
    font-weight: 600;
  }
  .banner[data-tone="info"] { background: var(--color-info-surface); color: var(--color-info-text); }
  .banner[data-tone="error"] { background: var(--color-danger-surface); color: var(--color-danger-text); }
  .banner.empty { margin: 0; padding: 0; }
  p { flex: 1; }
  button {
    flex: none;
    width: 2rem; height: 2rem;
    border: 0; border-radius: var(--radius-sm);
    background: transparent; color: inherit;
    font: inherit; font-size: var(--text-lg); line-height: 1;
    cursor: pointer;
  }
  button:hover { background: rgb(127 127 127 / 0.15); }
`;

class StatusMessage extends HTMLElement {
  #message = "";
  #tone = "success";
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get message() {
    return this.#message;
  }

  set message(value) {
    this.#message = String(value ?? "");
    this.#update();
  }

  get tone() {
    return this.#tone;
  }

  set tone(value) {
    this.#tone = value || "success";
    this.#update();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="wrap">
          <div class="banner empty" role="status" aria-live="polite">
            <p id="text"></p>
            <button type="button" id="dismiss" aria-label="Dismiss message" hidden>×</button>
          </div>
        </div>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot.getElementById("dismiss").addEventListener(
      "click",
      () => {
        this.message = "";
      },
      { signal: this.#connection.signal },
    );
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #update() {
    const banner = this.shadowRoot.querySelector(".banner");
    if (!banner) return;
    banner.classList.toggle("empty", !this.#message);
    banner.dataset.tone = this.#tone;
    this.shadowRoot.getElementById("text").textContent = this.#message;
    this.shadowRoot.getElementById("dismiss").hidden = !this.#message;
  }
}

customElements.define("status-message", StatusMessage);
