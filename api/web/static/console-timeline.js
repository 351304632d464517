/* Threadline agent console: the timeline list. Every item, whether from a page or the live
   stream, goes where time order puts it (newest first), so a late event lands among its
   contemporaries; a new revision of a source record replaces its item in place; in the
   contacts-first view, web activity is grouped into visits (gaps of at most 30 minutes).
   Items older than what is loaded wait for "Show older", never appear out of order. */
"use strict";

(function (T) {
  const { $, el, icon, timeEl, CHANNEL_LABELS } = T;
  const VISIT_GAP_MS = 30 * 60 * 1000;
  const ASSISTED = ["chat", "email", "call_centre", "store", "survey"];
  const tl = {
    mode: "contacts",
    items: new Map(),   // event_id -> li
    visits: [],         // {started, ended, events, listed, partial, node}
    visitIds: new Set(),
    pending: [],        // visits older than the loaded contacts, shown once those are
    boundary: null,     // ms: older items wait for the next page (null: everything is loaded)
  };

  const list = () => $("timeline");
  const ms = (iso) => new Date(iso).getTime();
  const at = (node) => Number(node.dataset.at);

  function reset(mode) {
    tl.mode = mode;
    tl.items.clear();
    tl.visits = [];
    tl.visitIds.clear();
    tl.pending = [];
    tl.boundary = null;
    list().replaceChildren();
  }

  /** Insert `node` by its time, newest first. `first`: before items of the same time (a new
      arrival), else after them (a page, already in the server's order). */
  function place(node, first) {
    const time = at(node);
    const last = list().lastElementChild;
    if (!last || (last !== node && (first ? at(last) > time : at(last) >= time))) {
      list().append(node);
      return;
    }
    for (const other of list().children) {
      if (other === node) continue;
      if (first ? at(other) <= time : at(other) < time) {
        list().insertBefore(node, other);
        return;
      }
    }
    list().append(node);
  }

  function badge(text, className) {
    return el("span", { className: "badge " + (className || ""), text });
  }

  function itemNode(item, how) {
    const label = CHANNEL_LABELS[item.channel] || item.channel;
    const details = el("details", {},
      el("summary", {},
        el("span", { className: "item-summary", text: item.summary }),
        el("span", { className: "item-meta" },
          label + " · " + T.details.kindLabel(item.kind) + " · ", timeEl(item.occurred_at),
          T.details.isInProgress(item) ? badge("In progress", "live-call") : null,
          how === "updated" ? badge("Updated") : null)));
    // The body is built when first opened: a page of items renders at once.
    details.addEventListener("toggle", () => {
      if (details.open && !details.dataset.built) {
        details.dataset.built = "1";
        details.append(...T.details.body(item));
      }
    });
    const node = el("li", {
      className: "item channel-" + item.channel + (how ? " new" : ""),
      "data-event-id": item.event_id, "data-at": ms(item.occurred_at), "data-kind": item.kind,
    }, icon(item.channel), details);
    node.itemData = item;
    return node;
  }

  function visitNode(v, how) {
    const pages = v.listed.every((e) => e.kind === "page_viewed");
    const noun = pages ? (v.events === 1 ? "page" : "pages") : (v.events === 1 ? "event" : "events");
    const span = v.ended - v.started;
    const length = span >= 60000 ? ", " + Math.round(span / 60000) + " min" : "";
    const entries = v.listed.map((e) => el("li", {},
      el("span", { text: e.summary }), " ", el("span", { className: "hint" }, timeEl(e.occurred_at))));
    const more = v.events > v.listed.length ? v.events - v.listed.length + " earlier in this visit" : null;
    return el("li", {
      className: "item visit channel-web" + (how ? " new" : ""),
      "data-at": v.ended, "data-visit": String(v.started),
    }, icon("web"),
    el("details", {},
      el("summary", {},
        el("span", { className: "item-summary",
          text: "Web visit: " + v.events + (v.partial ? "+" : "") + " " + noun + length }),
        el("span", { className: "item-meta" }, "Web · visit · ",
          timeEl(new Date(v.ended).toISOString()))),
      el("ol", { className: "visit-events", "aria-label": "In this visit, newest first" }, ...entries),
      more ? el("p", { className: "hint", text: more }) : null));
  }

  function renderVisit(v, how) {
    const node = visitNode(v, how);
    if (v.node) v.node.replaceWith(node);
    v.node = node;
    place(node, Boolean(how));
  }

  function showVisits() {
    const ready = tl.pending.filter((v) => tl.boundary === null || v.ended >= tl.boundary);
    tl.pending = tl.pending.filter((v) => !ready.includes(v));
    for (const v of ready) {
      tl.visits.push(v);
      renderVisit(v, null);
    }
  }

  /** A page of items (newest first); `more`: older pages exist. */
  function addPage(items, more) {
    for (const item of items) {
      if (tl.items.has(item.event_id)) continue;
      const node = itemNode(item, null);
      tl.items.set(item.event_id, node);
      place(node, false);
    }
    const oldest = items.length ? ms(items[items.length - 1].occurred_at) : null;
    tl.boundary = more ? (oldest === null ? tl.boundary : oldest) : null;
    showVisits();
  }

  /** Visits from `GET .../visits` (newest first). */
  function addVisits(visits) {
    for (const v of visits) {
      if (v.listed.some((e) => tl.visitIds.has(e.event_id))) continue;
      for (const e of v.listed) tl.visitIds.add(e.event_id);
      tl.pending.push({ started: ms(v.started_at), ended: ms(v.ended_at), events: v.events,
        listed: v.listed, partial: v.partial, node: null });
    }
    showVisits();
  }

  function liveVisit(item) {
    if (tl.visitIds.has(item.event_id)) return null;
    tl.visitIds.add(item.event_id);
    const time = ms(item.occurred_at);
    const entry = { event_id: item.event_id, kind: item.kind, occurred_at: item.occurred_at,
      summary: item.summary };
    let v = tl.visits.find((x) => time >= x.started - VISIT_GAP_MS && time <= x.ended + VISIT_GAP_MS);
    if (!v) {
      v = { started: time, ended: time, events: 0, listed: [], partial: false, node: null };
      tl.visits.push(v);
    }
    v.events += 1;
    v.started = Math.min(v.started, time);
    v.ended = Math.max(v.ended, time);
    v.listed = [...v.listed, entry].sort((a, b) => ms(b.occurred_at) - ms(a.occurred_at)).slice(0, 50);
    renderVisit(v, "new");
    return "web";
  }

  /** A live item: new ones by time, a revision in place. What happened, for the announcement:
      "new", "updated", "earlier" (placed below newer items), "web" (joined a visit), or null
      (not shown: filtered out, or older than what is loaded). */
  function live(item, channels) {
    const held = tl.items.get(item.event_id);
    if (held) {
      const node = itemNode(item, "updated");
      held.replaceWith(node);
      tl.items.set(item.event_id, node);
      place(node, true);
      return "updated";
    }
    if (channels.length && !channels.includes(item.channel)) return null;
    if (tl.boundary !== null && ms(item.occurred_at) < tl.boundary) return null;
    if (tl.mode === "contacts" && !ASSISTED.includes(item.channel)) return liveVisit(item);
    const node = itemNode(item, "new");
    tl.items.set(item.event_id, node);
    place(node, true);
    return list().firstElementChild === node ? "new" : "earlier";
  }

  T.timeline = {
    ASSISTED, reset, addPage, addVisits, live,
    get mode() { return tl.mode; },
    get pendingVisits() { return tl.pending.length; },
    get oldestVisit() {
      const all = [...tl.visits, ...tl.pending];
      return all.length ? Math.min(...all.map((v) => v.started)) : null;
    },
    itemData: (eventId) => (tl.items.get(eventId) || {}).itemData || null,
    count: () => list().children.length,
  };
})(window.Threadline);
