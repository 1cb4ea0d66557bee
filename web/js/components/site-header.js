// <site-header>: the top bar: the brand link, who is signed in, and Sign out.
//
// Attributes: email (the signed-in person's address; absent when nobody is signed in).
// Events: sign-out (the person asked to sign out).

import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host {
    display: block;
    position: sticky; top: 0; z-index: 5;
    background: var(--color-surface);
    border-bottom: 1px solid var(--color-border);
  }
  header {
    display: flex; align-items: center; gap: var(--space-3);
    max-width: var(--content-max);
    min-height: var(--header-height);
    margin-inline: auto;
    padding: var(--space-2) var(--page-gutter);
  }
  .brand {
    display: inline-flex; align-items: center; gap: var(--space-2);
    color: var(--color-text);
    font-size: var(--text-lg); font-weight: 700; letter-spacing: -0.01em;
    text-decoration: none;
    border-radius: var(--radius-sm);
  }
  .logo {
    display: inline-grid; place-items: center;
    width: 1.75rem; height: 1.75rem;
    border-radius: var(--radius-sm);
    background: var(--color-accent); color: var(--color-on-accent);
    font-size: var(--text-sm);
  }
  .account {
    display: flex; align-items: center; gap: var(--space-3);
    margin-inline-start: auto;
    min-width: 0;
  }
  .email {
    color: var(--color-text-muted); font-size: var(--text-sm);
    overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  }
  @media (max-width: 30rem) {
    .email { display: none; }
  }
`;

class SiteHeader extends HTMLElement {
  static observedAttributes = ["email"];
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get email() {
    return this.getAttribute("email") ?? "";
  }

  set email(value) {
    if (value) this.setAttribute("email", value);
    else this.removeAttribute("email");
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<header>
          <a class="brand" href="/gallery"><span class="logo" aria-hidden="true">▶</span>reelvault</a>
          <div class="account" hidden>
            <span class="email"></span>
            <button type="button" class="button quiet" id="sign-out">Sign out</button>
          </div>
        </header>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot
      .getElementById("sign-out")
      .addEventListener("click", () => emit(this, "sign-out"), { signal: this.#connection.signal });
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  attributeChangedCallback() {
    this.#update();
  }

  #update() {
    const account = this.shadowRoot.querySelector(".account");
    if (!account) return;
    account.hidden = !this.email;
    const label = this.shadowRoot.querySelector(".email");
    label.textContent = this.email;
    label.title = this.email;
  }
}

customElements.define("site-header", SiteHeader);
