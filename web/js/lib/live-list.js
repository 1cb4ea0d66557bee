// The gallery's list kept up to date by live events: pure functions from a state and an event
// (or a freshly fetched first page) to the next state, so the page only has to draw it.
//
// state: {items: GenerationItem[] in listing order, total, nextCursor}
// query: the gallery's filters and order {status, q, sort: "newest" | "oldest"}

// Newest first, then by id descending: the listing's own order (created_at, id).
export function compareItems(a, b) {
  const at = Date.parse(a.created_at);
  const bt = Date.parse(b.created_at);
  if (at !== bt) return bt - at;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

// The listing's order for a query: newest first unless it asks for the oldest first.
export function orderOf(query) {
  return query?.sort === "oldest" ? (a, b) => compareItems(b, a) : compareItems;
}

export function matchesQuery(item, { status = "", q = "" } = {}) {
  if (status && item.status !== status) return false;
  if (q && !item.prompt.toLowerCase().includes(q.toLowerCase())) return false;
  return true;
}

// Whether `item` sits inside the part of the listing already shown: anything newer than the
// last loaded item, or anything at all once the last page is shown. What lies beyond belongs to
// a page not fetched yet, which the cursor will bring in its turn.
function withinLoaded(state, item, compare) {
  if (state.nextCursor === null || state.items.length === 0) return true;
  return compare(item, state.items[state.items.length - 1]) < 0;
}

function inFlight(item) {
  return item.status === "pending" || item.status === "processing";
}

// Whether `incoming` is older news than what is shown (an event that crossed a fresh page on
// the way): a finished generation never starts again, and within one attempt progress only
// grows. A retry takes the item back to pending with its attempts counted, which is news.
export function isStale(shown, incoming) {
  if (!inFlight(shown)) return inFlight(incoming);
  if (!inFlight(incoming)) return false;
  if ((incoming.attempts ?? 0) !== (shown.attempts ?? 0)) return (incoming.attempts ?? 0) < (shown.attempts ?? 0);
  return shown.status === "processing" && incoming.status === "processing" && (incoming.progress ?? 0) < (shown.progress ?? 0);
}

// `event` is {type: "generation", item} or {type: "deleted", generation_id}.
export function applyEvent(state, event, query) {
  if (event.type === "deleted") {
    const items = state.items.filter((item) => item.id !== event.generation_id);
    // An id we do not show may already be gone from our list (our own delete): leave the count.
    if (items.length === state.items.length) return state;
    return { ...state, items, total: Math.max(0, state.total - 1) };
  }
  if (event.type !== "generation" || !event.item?.id) return state;
  const item = event.item;
  const index = state.items.findIndex((shown) => shown.id === item.id);
  const matches = matchesQuery(item, query);
  if (index >= 0) {
    if (isStale(state.items[index], item)) return state;
    const items = [...state.items];
    if (matches) {
      items[index] = item;
      return { ...state, items };
    }
    items.splice(index, 1); // it left the filter (a "processing" one completed)
    return { ...state, items, total: Math.max(0, state.total - 1) };
  }
  const compare = orderOf(query);
  if (!matches || !withinLoaded(state, item, compare)) return state;
  const items = [...state.items];
  const at = items.findIndex((shown) => compare(item, shown) < 0);
  items.splice(at < 0 ? items.length : at, 0, item);
  return { ...state, items, total: state.total + 1 };
}

// After a reconnect: the fresh first page replaces whatever it covers (so what was missed,
// added or removed meanwhile shows), and the older pages already loaded stay after it.
export function mergeFirstPage(state, page, query) {
  const compare = orderOf(query);
  const fresh = page.generations;
  const next = page.next_cursor ?? null;
  if (next === null || fresh.length === 0) {
    return { items: [...fresh], total: page.total, nextCursor: next };
  }
  const boundary = fresh[fresh.length - 1];
  const ids = new Set(fresh.map((item) => item.id));
  const older = state.items.filter((item) => !ids.has(item.id) && compare(item, boundary) > 0);
  return {
    items: [...fresh, ...older],
    total: page.total,
    nextCursor: older.length ? state.nextCursor : next,
  };
}
