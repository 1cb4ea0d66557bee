// <import-form>: choose (or drop) one or several video files; each gets its own prompt, filled
// in from its file name and editable. Everything is checked here, before any byte is sent:
// a missing or too long prompt, a file that is plainly no video. The uploads themselves belong
// to the app's upload queue, so this form only hands the checked files over.
//
// Methods: addFiles(files) adds files (from a drop), reset() clears the form, focus().
// Events: import-videos (detail {files: [{file, prompt}]}).

import { emit } from "../lib/events.js";
import { formatBytes } from "../lib/format.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";
import { ACCEPTED_TYPES, fileProblem, promptFromFileName, promptProblem } from "../lib/uploads.js";

const styles = css`
  :host { display: block; }
  form { display: grid; gap: var(--space-4); }
  .field { display: grid; gap: var(--space-1); }
  .chooser {
    display: grid; gap: var(--space-1);
    padding: var(--space-4);
    border: 2px dashed var(--color-border-strong);
    border-radius: var(--radius-md);
  }
  :host([dropping]) .chooser { border-color: var(--color-accent); background: var(--color-surface-muted); }
  input[type="file"] { padding: var(--space-2); width: 100%; }
  .chosen { display: grid; gap: var(--space-2); }
  ol { display: grid; gap: var(--space-3); margin: 0; padding: 0; list-style: none; }
  li {
    display: grid; gap: var(--space-2);
    padding: var(--space-3);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-md);
  }
  .file { display: flex; align-items: center; gap: var(--space-3); }
  .file .name { font-weight: 600; overflow-wrap: anywhere; flex: 1; }
  .file .size { color: var(--color-text-muted); font-size: var(--text-sm); white-space: nowrap; }
  .file .button { min-height: 2rem; padding: var(--space-1) var(--space-3); font-size: var(--text-sm); }
  textarea { width: 100%; min-height: 3.5rem; resize: vertical; }
  .form-error {
    padding: var(--space-3) var(--space-4);
    border-radius: var(--radius-md);
    background: var(--color-danger-surface);
    color: var(--color-danger-text);
    font-weight: 600;
  }
  .form-error:empty, .field-error:empty { display: none; }
  .actions { display: flex; flex-wrap: wrap; align-items: center; gap: var(--space-3); }
`;

class ImportForm extends HTMLElement {
  #chosen = []; // [{key, file}]
  #counter = 0;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  addFiles(files) {
    const added = [...(files ?? [])].map((file) => ({ key: `file-${++this.#counter}`, file }));
    if (!added.length) return;
    this.#chosen = [...this.#chosen, ...added];
    this.#drawFiles();
    this.#setError("file-error", "");
    this.shadowRoot.getElementById(`prompt-${added[0].key}`)?.focus();
  }

  reset() {
    this.#chosen = [];
    const root = this.shadowRoot;
    root.querySelector("form")?.reset();
    this.#drawFiles();
    this.#setError("file-error", "");
    this.#setError("form-error", "");
  }

  focus() {
    const root = this.shadowRoot;
    const first = this.#chosen[0];
    (first ? root.getElementById(`prompt-${first.key}`) : root.getElementById("file"))?.focus();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<form novalidate aria-labelledby="title">
          <h2 id="title" class="visually-hidden">Import videos</h2>
          <p class="form-error" id="form-error" role="alert"></p>
          <div class="chooser field">
            <label for="file">Video files</label>
            <input id="file" name="file" type="file" multiple accept="${ACCEPTED_TYPES}"
              aria-describedby="file-hint file-error">
            <p class="hint" id="file-hint">MP4, MOV, WebM or MKV. Choose several at once, or drop them
              anywhere on the gallery; each gets its own prompt.</p>
            <p class="field-error" id="file-error"></p>
          </div>
          <div class="chosen" hidden>
            <p class="hint" id="prompts-hint">Each prompt starts as its file's name: make it the prompt the video was made from.</p>
            <ol id="files" aria-label="Files to import"></ol>
          </div>
          <div class="actions">
            <button type="submit" class="button primary" id="submit">Import video</button>
          </div>
        </form>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    root.querySelector("form").addEventListener("submit", (event) => this.#submit(event), { signal });
    const input = root.getElementById("file");
    input.addEventListener(
      "change",
      () => {
        this.addFiles(input.files);
        input.value = ""; // the same file may be chosen again after it was removed
      },
      { signal },
    );
    root.getElementById("files").addEventListener(
      "click",
      (event) => {
        const remove = event.target.closest("button.remove");
        if (remove) this.#remove(remove.closest("li").dataset.key);
      },
      { signal },
    );
    root.getElementById("files").addEventListener(
      "input",
      (event) => {
        const li = event.target.closest("li");
        if (li && event.target.localName === "textarea") this.#showFieldError(li, "prompt", "");
      },
      { signal },
    );
    this.#drawFiles();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #remove(key) {
    const index = this.#chosen.findIndex((each) => each.key === key);
    if (index < 0) return;
    this.#chosen = this.#chosen.filter((each) => each.key !== key);
    this.#drawFiles();
    // Focus the next file's prompt, else the previous one's, else the chooser.
    const next = this.#chosen[Math.min(index, this.#chosen.length - 1)];
    (next ? this.shadowRoot.getElementById(`prompt-${next.key}`) : this.shadowRoot.getElementById("file")).focus();
  }

  // The list made to match #chosen; rows that stay keep what the person typed.
  #drawFiles() {
    const root = this.shadowRoot;
    const list = root.getElementById("files");
    if (!list) return;
    const wanted = new Set(this.#chosen.map((each) => each.key));
    for (const li of [...list.children]) if (!wanted.has(li.dataset.key)) li.remove();
    for (const { key, file } of this.#chosen) {
      if (list.querySelector(`li[data-key="${key}"]`)) continue;
      const li = document.createElement("li");
      li.dataset.key = key;
      render(
        li,
        html`<div class="file">
            <span class="name">${file.name}</span>
            <span class="size">${formatBytes(file.size)}</span>
            <button type="button" class="button quiet remove" aria-label="Remove ${file.name}">Remove</button>
          </div>
          <p class="field-error" id="file-${key}-error"></p>
          <div class="field">
            <label for="prompt-${key}">Prompt <span class="visually-hidden">for ${file.name}</span></label>
            <textarea id="prompt-${key}" rows="2" aria-describedby="prompts-hint prompt-${key}-error"></textarea>
            <p class="field-error" id="prompt-${key}-error"></p>
          </div>`,
      );
      li.querySelector("textarea").value = promptFromFileName(file.name);
      list.append(li);
    }
    root.querySelector(".chosen").hidden = this.#chosen.length === 0;
    const count = this.#chosen.length;
    root.getElementById("submit").textContent = count > 1 ? `Import ${count} videos` : "Import video";
  }

  #setError(id, message) {
    const element = this.shadowRoot.getElementById(id);
    if (element) element.textContent = message;
    if (id === "file-error") {
      const input = this.shadowRoot.getElementById("file");
      if (message) input?.setAttribute("aria-invalid", "true");
      else input?.removeAttribute("aria-invalid");
    }
  }

  #showFieldError(li, field, message) {
    const key = li.dataset.key;
    this.shadowRoot.getElementById(`${field}-${key}-error`).textContent = message;
    const control = field === "prompt" ? li.querySelector("textarea") : null;
    if (!control) return;
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }

  #submit(event) {
    event.preventDefault();
    const root = this.shadowRoot;
    this.#setError("form-error", "");
    if (!this.#chosen.length) {
      this.#setError("file-error", "Choose a video file to import.");
      root.getElementById("file").focus();
      return;
    }
    let firstProblem = null;
    const files = [];
    for (const { key, file } of this.#chosen) {
      const li = root.querySelector(`li[data-key="${key}"]`);
      const textarea = li.querySelector("textarea");
      const notVideo = fileProblem(file);
      const badPrompt = promptProblem(textarea.value);
      this.#showFieldError(li, "file", notVideo ?? "");
      this.#showFieldError(li, "prompt", badPrompt ?? "");
      if ((notVideo || badPrompt) && !firstProblem) firstProblem = notVideo ? li.querySelector("button.remove") : textarea;
      files.push({ file, prompt: textarea.value.trim() });
    }
    if (firstProblem) {
      this.#setError("form-error", "Nothing was uploaded. Fix what is marked below, then import again.");
      firstProblem.focus();
      return;
    }
    emit(this, "import-videos", { files });
    this.reset();
  }
}

customElements.define("import-form", ImportForm);
