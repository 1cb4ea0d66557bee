// Events up: every component and page speaks to its parent through bubbling, composed events.

export function emit(target, name, detail = {}) {
  return target.dispatchEvent(
    new CustomEvent(name, { bubbles: true, composed: true, cancelable: true, detail }),
  );
}
