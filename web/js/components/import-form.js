// <import-form>: import an existing video file with its prompt, with an upload progress bar.
// The page sends the upload; this form collects the fields and shows progress and errors.
//
// Properties: progress (null before and after an upload, else 0-100), errors ({prompt?, file?,
// form?}: sentences next to the fields).
// Methods: reset() clears the fields, the progress and the errors.
// Events: import-video (detail {prompt, file}), cancel-import (stop the running upload).

import { emit } from "../lib/events.js";
import { showFieldErrors } from "../lib/field-errors.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const ACCEPT = "video/mp4,video/quicktime,video/webm,video/x-matroska,.mp4,.m4v,.mov,.webm,.mkv";
const FIELDS = ["prompt", "file"];

const styles = css`
  :host { display: block; }
  form { display: grid; gap: var(--space-4); }
  .field { display: grid; gap: var(--space-1); }
  textarea { width: 100%; min-height: 5rem; resize: vertical; }
  input[type="file"] { padding: var(--space-2); width: 100%; }
  .upload { display: grid; gap: var(--space-1); }
  .upload span { font-size: var(--text-sm); color: var(--color-text-muted); font-variant-numeric: tabular-nums; }
  .form-error {
    padding: var(--space-3) var(--space-4);
    border-radius: var(--radius-md);
    background: var(--color-danger-surface);
    color: var(--color-danger-text);
    font-weight: 600;
  }
  .form-error:empty { display: none; }
  .actions { display: flex; flex-wrap: wrap; gap: var(--space-3); }
`;

class ImportForm extends HTMLElement {
  #progress = null;
  #errors = {};
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get progress() {
    return this.#progress;
  }

  set progress(value) {
    this.#progress = value === null || value === undefined ? null : Math.max(0, Math.min(100, value));
    this.#update();
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

  reset() {
    this.shadowRoot.querySelector("form")?.reset();
    this.#progress = null;
    this.#errors = {};
    this.#update();
    this.#showErrors();
  }

  focus() {
    this.shadowRoot.getElementById("prompt")?.focus();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<form novalidate aria-labelledby="title">
          <h2 id="title" class="visually-hidden">Import a video</h2>
          <p class="form-error" id="form-error" role="alert"></p>
          <div class="field">
            <label for="prompt">Prompt</label>
            <textarea id="prompt" name="prompt" rows="3" aria-describedby="prompt-hint prompt-error"></textarea>
            <p class="hint" id="prompt-hint">The prompt the video was generated from, up to 2,000 characters.</p>
            <p class="field-error" id="prompt-error"></p>
          </div>
          <div class="field">
            <label for="file">Video file</label>
            <input id="file" name="file" type="file" accept="${ACCEPT}" aria-describedby="file-hint file-error">
            <p class="hint" id="file-hint">MP4, MOV, WebM or MKV.</p>
            <p class="field-error" id="file-error"></p>
          </div>
          <div class="upload" hidden>
            <progress id="bar" max="100" value="0" aria-labelledby="upload-label"></progress>
            <span id="upload-label"></span>
          </div>
          <div class="actions">
            <button type="submit" class="button primary" id="submit">Import video</button>
            <button type="button" class="button" id="cancel" hidden>Cancel upload</button>
          </div>
        </form>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    root.querySelector("form").addEventListener("submit", (event) => this.#submit(event), { signal });
    root.getElementById("cancel").addEventListener("click", () => emit(this, "cancel-import"), { signal });
    this.#update();
    this.#showErrors();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #submit(event) {
    event.preventDefault();
    if (this.#progress !== null) return;
    const root = this.shadowRoot;
    const file = root.getElementById("file").files[0];
    if (!file) {
      this.errors = { file: "Choose a video file to import." };
      return;
    }
    this.errors = {};
    emit(this, "import-video", { prompt: root.getElementById("prompt").value, file });
  }

  #update() {
    const root = this.shadowRoot;
    const upload = root.querySelector(".upload");
    if (!upload) return;
    const uploading = this.#progress !== null;
    upload.hidden = !uploading;
    root.getElementById("bar").value = this.#progress ?? 0;
    root.getElementById("upload-label").textContent =
      this.#progress === 100 ? "Uploaded, preparing the video…" : `Uploading… ${this.#progress ?? 0}%`;
    root.getElementById("submit").disabled = uploading;
    root.getElementById("cancel").hidden = !uploading;
    root.querySelector("form").setAttribute("aria-busy", String(uploading));
  }

  #showErrors() {
    showFieldErrors(this.shadowRoot, FIELDS, this.#errors);
  }
}

customElements.define("import-form", ImportForm);
