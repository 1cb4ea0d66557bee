// <skeleton-card>: a grey stand-in for a video card while the gallery loads. Hidden from
// assistive technology; the gallery announces loading itself.

import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host { display: block; }
  .card {
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    overflow: hidden;
  }
  .shape {
    background: linear-gradient(90deg, var(--color-skeleton) 0%, var(--color-skeleton-shine) 50%, var(--color-skeleton) 100%);
    background-size: 200% 100%;
    animation: shine var(--duration-slow) ease-in-out infinite;
  }
  .frame { aspect-ratio: 1; }
  .lines { display: grid; gap: var(--space-2); padding: var(--space-3) var(--space-4) var(--space-4); }
  .line { height: 0.9rem; border-radius: var(--radius-sm); }
  .line.short { width: 55%; }
  @keyframes shine {
    from { background-position: 100% 0; }
    to { background-position: -100% 0; }
  }
`;

class SkeletonCard extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  connectedCallback() {
    this.setAttribute("aria-hidden", "true");
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="card">
          <div class="shape frame"></div>
          <div class="lines"><div class="shape line"></div><div class="shape line"></div><div class="shape line short"></div></div>
        </div>`,
      );
    }
  }
}

customElements.define("skeleton-card", SkeletonCard);
