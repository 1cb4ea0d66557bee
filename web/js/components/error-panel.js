// <error-panel>: a failure said plainly, with a Retry button.
//
// Properties: message (string). Attribute: retry-label (default "Retry").
// Events: retry (the person asked to try again).

import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host { display: block; }
  .panel {
    display: flex; flex-wrap: wrap; align-items: center; gap: var(--space-3) var(--space-4);
    padding: var(--space-4);
    border: 1px solid var(--color-danger);
    border-radius: var(--radius-lg);
    background: var(--color-danger-surface);
    color: var(--color-danger-text);
  }
  p { flex: 1 1 16rem; font-weight: 600; }
`;

class ErrorPanel extends HTMLElement {
  #message = "";
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

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="panel" role="alert">
          <p id="text"></p>
          <button type="button" class="button" id="retry"></button>
        </div>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot
      .getElementById("retry")
      .addEventListener("click", () => emit(this, "retry"), { signal: this.#connection.signal });
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #update() {
    const text = this.shadowRoot.getElementById("text");
    if (!text) return;
    text.textContent = this.#message;
    this.shadowRoot.getElementById("retry").textContent = this.getAttribute("retry-label") ?? "Retry";
  }
}

customElements.define("error-panel", ErrorPanel);
