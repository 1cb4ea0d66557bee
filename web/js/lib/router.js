// A History-API router: `/gallery/:id` patterns, same-origin link clicks (also from inside
// shadow roots), back and forward. It only says which route is current; main.js decides what
// to show.

export function compile(pattern) {
  const keys = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      keys.push(part.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { regex: new RegExp(`^${source}/?$`), keys };
}

export function matchRoute(routes, pathname) {
  for (const route of routes) {
    const { regex, keys } = compile(route.path);
    const found = regex.exec(pathname);
    if (!found) continue;
    const params = {};
    keys.forEach((key, index) => {
      params[key] = decodeURIComponent(found[index + 1]);
    });
    return { name: route.name, params };
  }
  return null;
}

export class Router {
  #routes;
  #onRoute;

  constructor(routes, onRoute) {
    this.#routes = routes;
    this.#onRoute = onRoute;
  }

  // The router lives as long as the page, so its listeners are never removed.
  start() {
    window.addEventListener("popstate", () => this.#resolve("pop"));
    document.addEventListener("click", (event) => this.#onClick(event));
    this.#resolve("initial");
  }

  handles(url) {
    return url.origin === location.origin && matchRoute(this.#routes, url.pathname) !== null;
  }

  // `state` is the new entry's history.state (null unless given).
  navigate(href, { replace = false, state = null } = {}) {
    const url = new URL(href, location.href);
    const same = url.href === location.href;
    history[replace || same ? "replaceState" : "pushState"](state, "", url);
    this.#resolve(replace ? "replace" : "push");
  }

  #resolve(cause) {
    const url = new URL(location.href);
    const match = matchRoute(this.#routes, url.pathname) ?? { name: "not-found", params: {} };
    this.#onRoute({ ...match, url, cause });
  }

  #onClick(event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.composedPath().find((node) => node instanceof HTMLAnchorElement);
    if (!anchor?.hasAttribute("href") || anchor.hasAttribute("download")) return;
    if (anchor.target && anchor.target !== "_self") return;
    const url = new URL(anchor.href);
    if (!this.handles(url)) return;
    // A link to a fragment of this very page is the browser's business (the skip link).
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    event.preventDefault();
    this.navigate(url.href);
  }
}
