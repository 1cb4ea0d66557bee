// <status-badge>: a generation's status as a coloured label.
//
// Attributes: status ("pending" | "processing" | "completed" | "failed", or "missing": a
// completed video whose file is gone).

import { css } from "../lib/html.js";
import { base } from "../lib/styles.js";

const LABELS = {
  pending: "Pending",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  missing: "File missing",
};

const styles = css`
  :host {
    display: inline-flex; align-items: center; gap: 0.4em;
    padding: 0.15em 0.6em;
    border-radius: var(--radius-pill);
    background: var(--color-neutral-surface);
    color: var(--color-neutral-text);
    font-size: var(--text-xs); font-weight: 700; letter-spacing: 0.02em;
    line-height: 1.6;
    white-space: nowrap;
  }
  :host::before {
    content: "";
    width: 0.5em; height: 0.5em;
    border-radius: 50%;
    background: currentColor;
  }
  :host([status="completed"]) { background: var(--color-success-surface); color: var(--color-success-text); }
  :host([status="processing"]) { background: var(--color-info-surface); color: var(--color-info-text); }
  :host([status="pending"]) { background: var(--color-warning-surface); color: var(--color-warning-text); }
  :host([status="failed"]), :host([status="missing"]) { background: var(--color-danger-surface); color: var(--color-danger-text); }
`;

class StatusBadge extends HTMLElement {
  static observedAttributes = ["status"];

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  connectedCallback() {
    this.#update();
  }

  attributeChangedCallback() {
    this.#update();
  }

  #update() {
    const status = this.getAttribute("status") ?? "";
    this.shadowRoot.textContent = LABELS[status] ?? status;
  }
}

customElements.define("status-badge", StatusBadge);
