// Where the person was in the gallery when they opened a video: its address, the cards loaded
// (in the gallery's order and filter), the cursor for more, the scroll position and the card
// opened. Back restores it; the video page walks it for previous and next. Kept in
// sessionStorage as well, so a reload of the video page does not lose the way back.
//
// place: {url, search, items: GenerationItem[], total, nextCursor, scrollY, focusId}

const KEY = "reelvault.gallery-place";

// The videos before and after `id` in the loaded list: {previous, next, last}, each an item or
// null; `last` says `id` is the last loaded one (the next page may hold its successor).
export function neighbours(items, id) {
  const index = items.findIndex((item) => item.id === id);
  if (index < 0) return { previous: null, next: null, last: false };
  return {
    previous: items[index - 1] ?? null,
    next: items[index + 1] ?? null,
    last: index === items.length - 1,
  };
}

// The place with a further page of the listing appended (never a card twice).
export function extendPlace(place, page) {
  const known = new Set(place.items.map((item) => item.id));
  const added = page.generations.filter((item) => !known.has(item.id));
  return { ...place, items: [...place.items, ...added], total: page.total, nextCursor: page.next_cursor ?? null };
}

export function readPlace(storage = sessionStorage) {
  try {
    const place = JSON.parse(storage.getItem(KEY) ?? "null");
    return place && Array.isArray(place.items) && typeof place.url === "string" ? place : null;
  } catch {
    return null;
  }
}

export function writePlace(place, storage = sessionStorage) {
  try {
    if (place) storage.setItem(KEY, JSON.stringify(place));
    else storage.removeItem(KEY);
  } catch {
    // A full or disabled storage only costs the place after a reload.
  }
}
