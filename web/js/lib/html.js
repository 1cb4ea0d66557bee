// Markup from template literals, escaped by default.
//
// `html` escapes every interpolated value unless it is itself the result of `html` (or an array
// of such results), so API data can only ever arrive as text. `render` accepts nothing else,
// which keeps raw strings away from innerHTML. `css` builds a constructable stylesheet.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

class SafeHtml {
  constructor(value) {
    this.value = value;
  }

  toString() {
    return this.value;
  }
}

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

function piece(value) {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, index) => {
    out += piece(value) + strings[index + 1];
  });
  return new SafeHtml(out);
}

export function render(target, template) {
  if (!(template instanceof SafeHtml)) {
    throw new TypeError("render() takes the result of the html`` tag");
  }
  target.innerHTML = template.value;
}

export function css(strings, ...values) {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(String.raw(strings, ...values));
  return sheet;
}
