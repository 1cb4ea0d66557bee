// <auth-form>: e-mail and password, for signing in or creating an account. It only collects and
// displays: the page sends the request and hands back the API's complaints.
//
// Attributes: mode ("sign-in" | "register").
// Properties: errors ({email?, password?, form?}: sentences shown next to the fields; setting
// them moves focus to the first field in error), busy (boolean).
// Events: submit-credentials (detail {email, password}).

import { emit } from "../lib/events.js";
import { showFieldErrors } from "../lib/field-errors.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host { display: block; }
  form { display: grid; gap: var(--space-4); }
  .field { display: grid; gap: var(--space-1); }
  input { width: 100%; }
  .form-error {
    padding: var(--space-3) var(--space-4);
    border-radius: var(--radius-md);
    background: var(--color-danger-surface);
    color: var(--color-danger-text);
    font-weight: 600;
  }
  .form-error:empty { display: none; }
  .button { width: 100%; }
`;

const FIELDS = ["email", "password"];

export function emptyFieldErrors({ email, password }) {
  const errors = {};
  if (!email) errors.email = "Enter your e-mail address.";
  if (!password) errors.password = "Enter your password.";
  return errors;
}

class AuthForm extends HTMLElement {
  static observedAttributes = ["mode"];
  #errors = {};
  #busy = false;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get mode() {
    return this.getAttribute("mode") === "register" ? "register" : "sign-in";
  }

  set mode(value) {
    this.setAttribute("mode", value);
  }

  get errors() {
    return this.#errors;
  }

  set errors(value) {
    this.#errors = value ?? {};
    this.#showErrors();
    const first = FIELDS.find((name) => this.#errors[name]);
    if (first) this.shadowRoot.getElementById(first)?.focus();
  }

  get busy() {
    return this.#busy;
  }

  set busy(value) {
    this.#busy = Boolean(value);
    this.#update();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<form novalidate>
          <p class="form-error" id="form-error" role="alert"></p>
          <div class="field">
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="username" inputmode="email"
              aria-describedby="email-error" spellcheck="false" autocapitalize="none">
            <p class="field-error" id="email-error"></p>
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" aria-describedby="password-hint password-error">
            <p class="hint" id="password-hint">At least 8 characters.</p>
            <p class="field-error" id="password-error"></p>
          </div>
          <button type="submit" class="button primary" id="submit"></button>
        </form>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot.querySelector("form").addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        if (this.#busy) return;
        const root = this.shadowRoot;
        const credentials = {
          email: root.getElementById("email").value.trim(),
          password: root.getElementById("password").value,
        };
        // Empty fields are said at once; the server is asked only about what was written.
        const missing = emptyFieldErrors(credentials);
        if (Object.keys(missing).length) {
          this.errors = missing;
          return;
        }
        emit(this, "submit-credentials", credentials);
      },
      { signal: this.#connection.signal },
    );
    this.#update();
    this.#showErrors();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  attributeChangedCallback() {
    this.#update();
  }

  focus() {
    this.shadowRoot.getElementById("email")?.focus();
  }

  #update() {
    const root = this.shadowRoot;
    const submit = root.getElementById("submit");
    if (!submit) return;
    const registering = this.mode === "register";
    submit.textContent = this.#busy
      ? registering ? "Creating account…" : "Signing in…"
      : registering ? "Create account" : "Sign in";
    submit.disabled = this.#busy;
    root.querySelector("form").setAttribute("aria-busy", String(this.#busy));
    root.getElementById("password").autocomplete = registering ? "new-password" : "current-password";
    root.getElementById("password-hint").hidden = !registering;
  }

  #showErrors() {
    showFieldErrors(this.shadowRoot, FIELDS, this.#errors);
  }
}

customElements.define("auth-form", AuthForm);
