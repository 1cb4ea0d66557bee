// Field errors shown next to their inputs (`#<name>-error`, aria-invalid) and one form-wide
// message (`#form-error`): shared by every form component.

export function showFieldErrors(root, fields, errors) {
  if (!root.firstChild) return;
  for (const name of fields) {
    const message = errors[name] ?? "";
    root.getElementById(`${name}-error`).textContent = message;
    const input = root.getElementById(name);
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  root.getElementById("form-error").textContent = errors.form ?? "";
}
