// <key-help>: the player's keyboard shortcuts in a modal dialog (native <dialog>: the page is
// inert behind it, Escape closes it, focus goes back where it was).
//
// Properties: open (boolean).

import { css, html, render } from "../lib/html.js";
import { SHORTCUTS } from "../lib/player-keys.js";
import { base } from "../lib/styles.js";

const styles = css`
  dialog {
    width: min(26rem, calc(100vw - 2 * var(--space-4)));
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    color: var(--color-text);
    box-shadow: var(--shadow-lg);
  }
  dialog::backdrop { background: var(--color-backdrop); }
  h2 { font-size: var(--text-lg); margin-bottom: var(--space-4); }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: var(--space-2) var(--space-4); align-items: center; }
  dt { display: flex; gap: var(--space-1); }
  kbd {
    display: inline-block; min-width: 1.8em; padding: 0.1em 0.45em;
    border: 1px solid var(--color-border-strong); border-bottom-width: 2px;
    border-radius: var(--radius-sm);
    background: var(--color-surface-muted);
    font-family: var(--font-mono); font-size: var(--text-sm); text-align: center;
  }
  .hint { margin-top: var(--space-4); }
  .actions { display: flex; justify-content: flex-end; margin-top: var(--space-5); }
`;

function deepActiveElement() {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

class KeyHelp extends HTMLElement {
  #returnFocus = null;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get open() {
    return Boolean(this.shadowRoot.querySelector("dialog")?.open);
  }

  set open(value) {
    const dialog = this.shadowRoot.querySelector("dialog");
    if (!dialog) return;
    if (value && !dialog.open) {
      this.#returnFocus = deepActiveElement();
      dialog.showModal();
      this.shadowRoot.getElementById("close").focus();
    } else if (!value && dialog.open) {
      dialog.close();
    }
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      const rows = SHORTCUTS.map(
        ({ keys, does }) =>
          html`<dt>${keys.map((key, index) => html`${index ? html`<span>or</span>` : ""}<kbd>${key}</kbd>`)}</dt><dd>${does}</dd>`,
      );
      render(
        this.shadowRoot,
        html`<dialog aria-labelledby="title">
          <h2 id="title">Keyboard shortcuts</h2>
          <dl>${rows}</dl>
          <p class="hint">They work anywhere on this page, except while you type in a field.</p>
          <form method="dialog" class="actions"><button class="button" id="close">Close</button></form>
        </dialog>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot.querySelector("dialog").addEventListener(
      "close",
      () => {
        const target = this.#returnFocus;
        this.#returnFocus = null;
        if (target?.isConnected) target.focus();
      },
      { signal: this.#connection.signal },
    );
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.shadowRoot.querySelector("dialog")?.close();
  }
}

customElements.define("key-help", KeyHelp);
