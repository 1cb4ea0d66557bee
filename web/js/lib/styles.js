// The stylesheet every shadow root adopts first: box model, focus ring, buttons, fields.
// Values come from the design tokens in /css/tokens.css (custom properties cross shadow roots).

import { css } from "./html.js";

export const base = css`
  :host {
    box-sizing: border-box;
    font-family: var(--font-sans);
    color: var(--color-text);
  }
  *, *::before, *::after { box-sizing: inherit; }
  [hidden] { display: none !important; }
  :focus-visible {
    outline: var(--focus-ring-width) solid var(--color-focus);
    outline-offset: var(--focus-ring-offset);
  }
  h1, h2, h3, p, dl, dd, ul { margin: 0; }
  a { color: var(--color-link); }
  .visually-hidden {
    position: absolute !important;
    width: 1px; height: 1px;
    padding: 0; margin: -1px;
    overflow: hidden; clip: rect(0 0 0 0);
    white-space: nowrap; border: 0;
  }
  .button {
    display: inline-flex; align-items: center; justify-content: center; gap: var(--space-2);
    min-height: 2.5rem;
    padding: var(--space-2) var(--space-4);
    border: 1px solid var(--color-border-strong);
    border-radius: var(--radius-md);
    background: var(--color-surface);
    color: var(--color-text);
    font: inherit; font-weight: 600; line-height: 1.2;
    text-decoration: none;
    cursor: pointer;
    transition: background-color var(--duration-fast), border-color var(--duration-fast);
  }
  .button:hover { background: var(--color-surface-hover); }
  .button:disabled, .button[aria-disabled="true"] { opacity: 0.6; cursor: not-allowed; }
  .button.primary {
    background: var(--color-accent); border-color: var(--color-accent); color: var(--color-on-accent);
  }
  .button.primary:hover:not(:disabled) { background: var(--color-accent-hover); }
  .button.danger {
    background: var(--color-danger); border-color: var(--color-danger); color: var(--color-on-danger);
  }
  .button.danger:hover:not(:disabled) { background: var(--color-danger-hover); }
  .button.quiet { background: transparent; border-color: transparent; }
  .button.quiet:hover { background: var(--color-surface-hover); }
  .link-button {
    padding: 0; border: 0; background: none; cursor: pointer;
    font: inherit; color: var(--color-link); text-decoration: underline;
  }
  label { font-weight: 600; }
  input, select, textarea {
    font: inherit; color: var(--color-text);
    background: var(--color-field);
    border: 1px solid var(--color-border-strong);
    border-radius: var(--radius-md);
    padding: var(--space-2) var(--space-3);
    min-height: 2.5rem;
  }
  input:focus-visible, select:focus-visible, textarea:focus-visible { outline-offset: 1px; }
  [aria-invalid="true"] { border-color: var(--color-danger); }
  .field-error { color: var(--color-danger-text); font-size: var(--text-sm); }
  .hint { color: var(--color-text-muted); font-size: var(--text-sm); }
  progress {
    appearance: none;
    width: 100%; height: 0.5rem;
    border: 0; border-radius: var(--radius-pill);
    background: var(--color-track);
    overflow: hidden;
  }
  progress::-webkit-progress-bar { background: var(--color-track); border-radius: var(--radius-pill); }
  progress::-webkit-progress-value { background: var(--color-accent); border-radius: var(--radius-pill); }
  progress::-moz-progress-bar { background: var(--color-accent); border-radius: var(--radius-pill); }
  @media (prefers-reduced-motion: reduce) {
    *, *::before, *::after { animation: none !important; transition: none !important; }
  }
`;
