// <upload-queue>: the tab's imports in a panel at the foot of the window, above whichever
// page is open: each file with its prompt, a progress bar, what is happening to it, Cancel
// while it is on its way, a link to the new video once it is in, the server's sentence when it
// was refused. Hidden while there is nothing to show. Rows update in place (focus stays put).
//
// Properties: entries (the UploadQueue's entries, see lib/upload-queue.js).
// Events: cancel-upload (detail {id}), dismiss-upload (detail {id}), clear-uploads.

import { emit } from "../lib/events.js";
import { formatBytes } from "../lib/format.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host {
    position: fixed; z-index: 20;
    right: var(--space-4); bottom: var(--space-4);
    width: min(24rem, calc(100vw - 2 * var(--space-4)));
  }
  section {
    display: grid; grid-template-columns: minmax(0, 1fr);
    max-height: min(26rem, 60dvh);
    border: 1px solid var(--color-border-strong);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    box-shadow: var(--shadow-lg);
    overflow: hidden;
  }
  header {
    display: flex; align-items: center; gap: var(--space-2);
    padding: var(--space-3) var(--space-4);
    border-bottom: 1px solid var(--color-border);
  }
  h2 { font-size: var(--text-md); }
  .summary {
    flex: 1; min-width: 0;
    color: var(--color-text-muted); font-size: var(--text-sm);
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  }
  .toggle, .clear {
    min-height: 2rem; padding: var(--space-1) var(--space-2); font-size: var(--text-sm); white-space: nowrap;
  }
  ol { margin: 0; padding: 0; list-style: none; overflow-y: auto; }
  ol[hidden] { display: none; }
  li {
    display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: var(--space-1) var(--space-3);
    padding: var(--space-3) var(--space-4);
    border-top: 1px solid var(--color-border);
  }
  li:first-child { border-top: 0; }
  .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .prompt {
    grid-column: 1 / -1;
    color: var(--color-text-muted); font-size: var(--text-sm);
    overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  }
  progress { grid-column: 1 / -1; }
  .state { grid-column: 1; font-size: var(--text-sm); font-variant-numeric: tabular-nums; }
  li[data-state="failed"] .state { color: var(--color-danger-text); font-weight: 600; }
  li[data-state="done"] .state { color: var(--color-success-text); font-weight: 600; }
  .actions { grid-row: 1; grid-column: 2; display: flex; gap: var(--space-2); align-items: center; }
  .actions .button {
    min-height: 2rem; padding: var(--space-1) var(--space-3); font-size: var(--text-sm); white-space: nowrap;
  }
  @media (max-width: 30rem) {
    :host { right: var(--space-2); bottom: var(--space-2); width: calc(100vw - 2 * var(--space-2)); }
  }
`;

const ACTIVE = new Set(["queued", "uploading", "processing"]);

function stateText(entry) {
  switch (entry.state) {
    case "queued":
      return entry.message || "Waiting to upload…";
    case "uploading":
      return `Uploading… ${entry.progress}%`;
    case "processing":
      return "Uploaded, preparing the video…";
    case "done":
      return "Imported";
    case "cancelled":
      return "Cancelled";
    default:
      return entry.message || "The video could not be imported.";
  }
}

class UploadQueueElement extends HTMLElement {
  #entries = [];
  #rows = new Map(); // entry id -> <li>
  #collapsed = false;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get entries() {
    return this.#entries;
  }

  set entries(value) {
    this.#entries = Array.isArray(value) ? value : [];
    this.#update();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<section aria-labelledby="uploads-title">
          <header>
            <h2 id="uploads-title">Uploads</h2>
            <span class="summary"></span>
            <button type="button" class="button quiet clear" id="clear" hidden>Clear finished</button>
            <button type="button" class="button quiet toggle" id="toggle" aria-expanded="true" aria-controls="list">Hide</button>
          </header>
          <ol id="list"></ol>
        </section>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    root.getElementById("clear").addEventListener("click", () => emit(this, "clear-uploads"), { signal });
    root.getElementById("toggle").addEventListener(
      "click",
      () => {
        this.#collapsed = !this.#collapsed;
        this.#update();
      },
      { signal },
    );
    root.getElementById("list").addEventListener(
      "click",
      (event) => {
        const button = event.target.closest("button[data-action]");
        if (!button) return;
        const id = button.closest("li").dataset.id;
        emit(this, button.dataset.action === "cancel" ? "cancel-upload" : "dismiss-upload", { id });
      },
      { signal },
    );
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #row(entry) {
    let li = this.#rows.get(entry.id);
    if (li) return li;
    li = document.createElement("li");
    li.dataset.id = entry.id;
    render(
      li,
      html`<span class="name"></span>
        <span class="actions">
          <a class="button primary open" hidden>Open video</a>
          <button type="button" class="button cancel" data-action="cancel">Cancel</button>
          <button type="button" class="button quiet dismiss" data-action="dismiss" hidden>Dismiss</button>
        </span>
        <span class="prompt"></span>
        <progress max="100" value="0"></progress>
        <span class="state"></span>`,
    );
    this.#rows.set(entry.id, li);
    return li;
  }

  #update() {
    const root = this.shadowRoot;
    const list = root.getElementById("list");
    if (!list) return;
    const entries = this.#entries;
    this.hidden = entries.length === 0;

    const wanted = new Set(entries.map((entry) => entry.id));
    for (const [id, li] of this.#rows) {
      if (wanted.has(id)) continue;
      li.remove();
      this.#rows.delete(id);
    }
    let cursor = list.firstElementChild;
    for (const entry of entries) {
      const li = this.#row(entry);
      this.#fill(li, entry);
      if (li === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(li, cursor);
    }

    const active = entries.filter((entry) => ACTIVE.has(entry.state)).length;
    const done = entries.filter((entry) => entry.state === "done").length;
    root.querySelector(".summary").textContent = active
      ? `${active} in progress${done ? `, ${done} done` : ""}`
      : `${done} of ${entries.length} imported`;
    root.getElementById("clear").hidden = entries.length === active;
    list.hidden = this.#collapsed;
    const toggle = root.getElementById("toggle");
    toggle.textContent = this.#collapsed ? "Show" : "Hide";
    toggle.setAttribute("aria-expanded", String(!this.#collapsed));
  }

  #fill(li, entry) {
    li.dataset.state = entry.state;
    li.querySelector(".name").textContent = entry.name;
    li.querySelector(".name").title = `${entry.name} (${formatBytes(entry.size)})`;
    const prompt = li.querySelector(".prompt");
    prompt.textContent = entry.prompt;
    prompt.title = entry.prompt;
    const bar = li.querySelector("progress");
    const moving = entry.state === "uploading" || entry.state === "processing" || entry.state === "queued";
    bar.hidden = !moving;
    bar.value = entry.progress;
    bar.setAttribute("aria-label", `Upload of ${entry.name}`);
    li.querySelector(".state").textContent = stateText(entry);

    const active = ACTIVE.has(entry.state);
    const cancel = li.querySelector(".cancel");
    cancel.hidden = !active;
    cancel.setAttribute("aria-label", `Cancel upload of ${entry.name}`);
    const dismiss = li.querySelector(".dismiss");
    dismiss.hidden = active;
    dismiss.setAttribute("aria-label", `Dismiss ${entry.name}`);
    const open = li.querySelector(".open");
    open.hidden = !(entry.state === "done" && entry.item);
    if (entry.item) {
      open.href = `/gallery/${encodeURIComponent(entry.item.id)}`;
      // Named by the file: the prompt is already the name of the video's card.
      open.setAttribute("aria-label", `Open the video from ${entry.name}`);
    }
    // A cancel button that just went away must not leave focus on nothing.
    if (!active && li.contains(this.shadowRoot.activeElement) && this.shadowRoot.activeElement.hidden) {
      (open.hidden ? dismiss : open).focus();
    }
  }
}

customElements.define("upload-queue", UploadQueueElement);
