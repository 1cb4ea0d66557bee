// <login-page>: sign in, or create an account (which then signs in).
//
// Properties: next (where to go once signed in; a same-site path).
// Events: sign-in (detail {account, next}: the person is signed in).

import * as api from "../lib/api.js";
import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { credentialErrors } from "../lib/messages.js";
import { base } from "../lib/styles.js";
import "../components/auth-form.js";

const styles = css`
  :host { display: block; }
  section {
    max-width: 26rem;
    margin: var(--space-6) auto 0;
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    box-shadow: var(--shadow-sm);
  }
  h1 { font-size: var(--text-2xl); line-height: var(--leading-tight); margin-bottom: var(--space-2); }
  .lead { color: var(--color-text-muted); margin-bottom: var(--space-5); }
  .switch { margin-top: var(--space-5); text-align: center; }
`;

const COPY = {
  "sign-in": {
    title: "Sign in",
    lead: "Your library of generated video ads.",
    question: "No account yet?",
    other: "Create an account",
  },
  register: {
    title: "Create an account",
    lead: "Keep, play and download every video you generate.",
    question: "Already have an account?",
    other: "Sign in instead",
  },
};

class LoginPage extends HTMLElement {
  next = "/gallery";
  #mode = "sign-in";
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<section aria-labelledby="title">
          <h1 id="title"></h1>
          <p class="lead"></p>
          <auth-form></auth-form>
          <p class="switch"><span class="question"></span> <button type="button" class="link-button" id="switch"></button></p>
        </section>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    root.getElementById("switch").addEventListener("click", () => this.#switchMode(), { signal });
    root.querySelector("auth-form").addEventListener(
      "submit-credentials",
      (event) => {
        event.stopPropagation();
        this.#submit(event.detail);
      },
      { signal },
    );
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #switchMode() {
    this.#mode = this.#mode === "sign-in" ? "register" : "sign-in";
    this.shadowRoot.querySelector("auth-form").errors = {};
    this.#update();
    this.shadowRoot.querySelector("auth-form").focus();
  }

  #update() {
    const root = this.shadowRoot;
    const copy = COPY[this.#mode];
    root.getElementById("title").textContent = copy.title;
    root.querySelector(".lead").textContent = copy.lead;
    root.querySelector(".question").textContent = copy.question;
    root.getElementById("switch").textContent = copy.other;
    root.querySelector("auth-form").mode = this.#mode;
  }

  async #submit({ email, password }) {
    const form = this.shadowRoot.querySelector("auth-form");
    const { signal } = this.#connection;
    form.busy = true;
    form.errors = {};
    try {
      if (this.#mode === "register") await api.register(email, password, { signal });
      await api.login(email, password, { signal });
      const account = await api.me({ signal });
      emit(this, "sign-in", { account, next: this.next, registered: this.#mode === "register" });
    } catch (error) {
      if (api.isAbort(error)) return;
      form.errors = credentialErrors(error);
    } finally {
      form.busy = false;
    }
  }
}

customElements.define("login-page", LoginPage);
