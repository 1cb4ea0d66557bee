// <generation-dialog>: "New generation" in a modal dialog: a prompt, a duration and an aspect
// ratio, checked by the contract's rules before anything is sent; the server's refusals are
// shown next to their fields. The page sends the request; this dialog collects and shows.
// Native <dialog>: the page behind is inert, Escape closes it, focus returns to the opener.
// The form exists only while the dialog is open (a closed one leaves no second "Prompt" field
// in the page); what was typed is kept as a draft for the next opening.
//
// Properties: open (boolean), busy (boolean: a request is on its way), errors ({prompt?,
// duration?, aspect_ratio?, form?}).
// Methods: reset() puts the defaults back and clears the errors.
// Events: request-generation (detail {prompt, duration, aspect_ratio}), cancel.

import { emit } from "../lib/events.js";
import { showFieldErrors } from "../lib/field-errors.js";
import {
  ASPECT_DEFAULT,
  ASPECT_RATIOS,
  DURATION_DEFAULT,
  DURATION_MAX,
  DURATION_MIN,
  PROMPT_MAX,
  promptLength,
  validateGenerationRequest,
} from "../lib/generation-request.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const FIELDS = ["prompt", "duration", "aspect_ratio"];
const RATIO_WORDS = { "9:16": "Portrait", "16:9": "Landscape", "1:1": "Square" };

const styles = css`
  dialog {
    width: min(34rem, calc(100vw - 2 * var(--space-4)));
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    color: var(--color-text);
    box-shadow: var(--shadow-lg);
  }
  dialog::backdrop { background: var(--color-backdrop); }
  form { display: grid; gap: var(--space-4); }
  h2 { font-size: var(--text-xl); }
  .field { display: grid; gap: var(--space-1); }
  textarea { width: 100%; min-height: 6rem; resize: vertical; }
  input[type="number"] { width: 7rem; }
  fieldset { border: 0; margin: 0; padding: 0; display: grid; gap: var(--space-2); }
  legend { font-weight: 600; padding: 0; margin-bottom: var(--space-1); }
  .ratios { display: flex; flex-wrap: wrap; gap: var(--space-3); }
  .ratios label { display: inline-flex; align-items: center; gap: var(--space-2); font-weight: 400; }
  .ratios input { min-height: auto; }
  .count { font-variant-numeric: tabular-nums; }
  .form-error {
    padding: var(--space-3) var(--space-4);
    border-radius: var(--radius-md);
    background: var(--color-danger-surface);
    color: var(--color-danger-text);
    font-weight: 600;
  }
  .form-error:empty { display: none; }
  .actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: var(--space-3); }
`;

class GenerationDialog extends HTMLElement {
  #errors = {};
  #busy = false;
  #connection = null;
  #form = null; // listeners of the open form
  #draft = null;
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
      this.#renderForm(dialog);
      dialog.showModal();
      this.shadowRoot.getElementById("prompt").focus();
    } else if (!value && dialog.open) {
      dialog.close();
    }
  }

  get busy() {
    return this.#busy;
  }

  set busy(value) {
    this.#busy = Boolean(value);
    const root = this.shadowRoot;
    const submit = root.getElementById("submit");
    if (!submit) return;
    submit.disabled = this.#busy;
    submit.textContent = this.#busy ? "Requesting…" : "Request generation";
    root.querySelector("form").setAttribute("aria-busy", String(this.#busy));
  }

  get errors() {
    return this.#errors;
  }

  set errors(value) {
    this.#errors = value ?? {};
    if (!this.shadowRoot.querySelector("form")) return;
    showFieldErrors(this.shadowRoot, FIELDS, this.#errors);
    const first = FIELDS.find((name) => this.#errors[name]);
    if (first === "aspect_ratio") this.shadowRoot.querySelector('input[name="aspect_ratio"]:checked, input[name="aspect_ratio"]')?.focus();
    else if (first) this.shadowRoot.getElementById(first)?.focus();
  }

  reset() {
    this.#draft = null;
    this.shadowRoot.querySelector("form")?.reset();
    this.errors = {};
    this.#count();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) render(this.shadowRoot, html`<dialog aria-labelledby="title"></dialog>`);
    this.#connection = new AbortController();
    const dialog = this.shadowRoot.querySelector("dialog");
    dialog.addEventListener("close", () => this.#closed(dialog), { signal: this.#connection.signal });
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.shadowRoot.querySelector("dialog")?.close();
  }

  #renderForm(dialog) {
    render(
      dialog,
      html`<form novalidate>
        <h2 id="title">New generation</h2>
        <p class="form-error" id="form-error" role="alert"></p>
        <div class="field">
          <label for="prompt">Prompt</label>
          <textarea id="prompt" name="prompt" rows="4" aria-describedby="prompt-hint prompt-error"></textarea>
          <p class="hint" id="prompt-hint">What the video should show, up to 2,000 characters.
            <span class="count" id="count"></span></p>
          <p class="field-error" id="prompt-error"></p>
        </div>
        <div class="field">
          <label for="duration">Duration in seconds</label>
          <input id="duration" name="duration" type="number" inputmode="numeric"
            min="${DURATION_MIN}" max="${DURATION_MAX}" step="1" value="${DURATION_DEFAULT}"
            aria-describedby="duration-hint duration-error">
          <p class="hint" id="duration-hint">From ${DURATION_MIN} to ${DURATION_MAX} seconds.</p>
          <p class="field-error" id="duration-error"></p>
        </div>
        <fieldset id="aspect_ratio" aria-describedby="aspect_ratio-error">
          <legend>Aspect ratio</legend>
          <div class="ratios">
            ${ASPECT_RATIOS.map(
              (ratio) => html`<label><input type="radio" name="aspect_ratio" value="${ratio}"
                ${ratio === ASPECT_DEFAULT ? html`checked` : ""}> ${ratio} (${RATIO_WORDS[ratio]})</label>`,
            )}
          </div>
          <p class="field-error" id="aspect_ratio-error"></p>
        </fieldset>
        <div class="actions">
          <button type="button" class="button" id="cancel">Cancel</button>
          <button type="submit" class="button primary" id="submit">Request generation</button>
        </div>
      </form>`,
    );
    const root = this.shadowRoot;
    if (this.#draft) {
      root.getElementById("prompt").value = this.#draft.prompt;
      root.getElementById("duration").value = this.#draft.duration;
      const ratio = root.querySelector(`input[name="aspect_ratio"][value="${CSS.escape(this.#draft.aspectRatio)}"]`);
      if (ratio) ratio.checked = true;
    }
    this.#form = new AbortController();
    const { signal } = this.#form;
    root.querySelector("form").addEventListener("submit", (event) => this.#submit(event), { signal });
    root.getElementById("cancel").addEventListener("click", () => dialog.close(), { signal });
    root.getElementById("prompt").addEventListener("input", () => this.#count(), { signal });
    this.busy = this.#busy;
    this.errors = {};
    this.#count();
  }

  #values() {
    const root = this.shadowRoot;
    return {
      prompt: root.getElementById("prompt").value,
      duration: root.getElementById("duration").value,
      aspectRatio: root.querySelector('input[name="aspect_ratio"]:checked')?.value ?? "",
    };
  }

  #submit(event) {
    event.preventDefault();
    if (this.#busy) return;
    const { request, errors } = validateGenerationRequest(this.#values());
    this.errors = errors;
    if (request) emit(this, "request-generation", request);
  }

  #count() {
    const count = this.shadowRoot.getElementById("count");
    if (!count) return;
    const length = promptLength(this.shadowRoot.getElementById("prompt").value);
    count.textContent = `${length.toLocaleString()} / ${PROMPT_MAX.toLocaleString()}`;
  }

  #closed(dialog) {
    if (dialog.querySelector("form")) this.#draft = this.#values();
    this.#form?.abort();
    this.#form = null;
    dialog.replaceChildren();
    const target = this.#returnFocus;
    this.#returnFocus = null;
    if (target?.isConnected) target.focus();
    if (!this.#busy) emit(this, "cancel");
  }
}

function deepActiveElement() {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

customElements.define("generation-dialog", GenerationDialog);
