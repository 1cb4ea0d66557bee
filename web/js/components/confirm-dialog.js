// <confirm-dialog>: a modal question with Cancel and a confirming button, on a native
// <dialog>. The rest of the page is inert while it is open, Tab and Shift+Tab cycle inside it,
// Escape cancels, and focus goes back to where it was when the dialog closes.
//
// Attributes: message (the question), confirm-label (default "Confirm"), cancel-label
// (default "Cancel").
// Properties: open (boolean; true shows the dialog, false closes it).
// Events: confirm, cancel.

import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  dialog {
    width: min(28rem, calc(100vw - 2 * var(--space-4)));
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    color: var(--color-text);
    box-shadow: var(--shadow-lg);
  }
  dialog::backdrop { background: var(--color-backdrop); }
  p { font-size: var(--text-lg); line-height: var(--leading); }
  .actions {
    display: flex; flex-wrap: wrap; justify-content: flex-end; gap: var(--space-3);
    margin-top: var(--space-5);
  }
`;

function deepActiveElement() {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

class ConfirmDialog extends HTMLElement {
  static observedAttributes = ["message", "confirm-label", "cancel-label"];
  #connection = null;
  #returnFocus = null;

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
      dialog.returnValue = "";
      dialog.showModal();
      this.shadowRoot.getElementById("cancel").focus();
    } else if (!value && dialog.open) {
      dialog.close("cancel");
    }
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<dialog aria-labelledby="question">
          <form method="dialog">
            <p id="question"></p>
            <div class="actions">
              <button class="button" id="cancel" value="cancel"></button>
              <button class="button danger" id="confirm" value="confirm"></button>
            </div>
          </form>
        </dialog>`,
      );
    }
    const root = this.shadowRoot;
    this.#update();
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const dialog = root.querySelector("dialog");
    dialog.addEventListener("keydown", (event) => this.#trapTab(event), { signal });
    dialog.addEventListener("close", () => this.#closed(dialog.returnValue), { signal });
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.shadowRoot.querySelector("dialog")?.close();
  }

  attributeChangedCallback() {
    this.#update();
  }

  #update() {
    const root = this.shadowRoot;
    if (!root.firstChild) return;
    root.getElementById("question").textContent = this.getAttribute("message") ?? "";
    root.getElementById("cancel").textContent = this.getAttribute("cancel-label") ?? "Cancel";
    root.getElementById("confirm").textContent = this.getAttribute("confirm-label") ?? "Confirm";
  }

  #trapTab(event) {
    if (event.key !== "Tab") return;
    const buttons = [...this.shadowRoot.querySelectorAll("button:not([disabled])")];
    if (!buttons.length) return;
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    const active = this.shadowRoot.activeElement;
    if (event.shiftKey && (active === first || !buttons.includes(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !buttons.includes(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  #closed(result) {
    const target = this.#returnFocus;
    this.#returnFocus = null;
    if (target?.isConnected) target.focus();
    emit(this, result === "confirm" ? "confirm" : "cancel");
  }
}

customElements.define("confirm-dialog", ConfirmDialog);
