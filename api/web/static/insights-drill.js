/* Insights page: the customers behind a figure (GET /v1/insights/customers), by name, each a
   link to their console profile, and the events that made each one count
   (GET /v1/insights/customers/{id}/evidence) one "Why" away. */
"use strict";

(function (T) {
  const { $, el, api, setStatus, CHANNEL_LABELS } = T;
  const listing = { query: null, cursors: new Map(), items: new Map() };
  const label = (ch) => CHANNEL_LABELS[ch] || ch;

  function when(iso) {
    return el("time", { datetime: iso, text: new Date(iso).toLocaleString(undefined,
      { dateStyle: "medium", timeStyle: "short" }) });
  }

  async function showWhy(customerId, button, target) {
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    target.hidden = open;
    if (open || target.childElementCount) return;
    const path = "/v1/insights/customers/" + encodeURIComponent(customerId) + "/evidence";
    let reports;
    try {
      reports = await Promise.all([...listing.cursors.keys()].map((channel) =>
        api(path, { ...listing.query, channel })));
    } catch (error) {
      target.append(el("li", { text: "Could not load the events: " + error.message }));
      return;
    }
    const events = reports.flatMap((r) => r.items.flatMap((item) => item.events))
      .sort((a, b) => a.occurred_at.localeCompare(b.occurred_at));
    const seen = new Set();
    for (const ev of events) {
      if (seen.has(ev.event_id)) continue;
      seen.add(ev.event_id);
      target.append(el("li", { "data-event": ev.event_id }, when(ev.occurred_at), " ",
        el("span", { className: "evidence-channel", text: label(ev.channel) }), " ",
        el("span", { text: ev.summary })));
    }
    if (!seen.size) target.append(el("li", { text: "No events in this range any more." }));
  }

  function entry(c) {
    const why = el("ol", { className: "plain evidence", hidden: true,
      "aria-label": "Events behind the figure" });
    const button = el("button", { type: "button", className: "secondary why",
      "aria-expanded": "false", text: "Why",
      "aria-label": "Why " + (c.name || c.contact || c.customer_id) + " counts" });
    button.addEventListener("click", () => showWhy(c.customer_id, button, why));
    return el("li", { "data-customer": c.customer_id },
      el("a", { href: "/#customer=" + encodeURIComponent(c.customer_id),
        text: c.name || c.contact || "(no name)" }), " ",
      c.name && c.contact ? el("span", { className: "hint", text: c.contact }) : null, " ",
      el("span", { className: "customer-id", text: c.customer_id }), " ",
      el("span", { className: "hint count" }), " ", button, why);
  }

  async function more() {
    const open = [...listing.cursors].filter(([, cursor]) => cursor !== null);
    const pages = await Promise.all(open.map(([channel, cursor]) => api("/v1/insights/customers",
      { ...listing.query, channel, cursor, limit: 50 })));
    pages.forEach((page, i) => {
      listing.cursors.set(open[i][0], page.next_cursor);
      for (const c of page.customers) {
        const count = (listing.items.get(c.customer_id) || 0) + c.value;
        listing.items.set(c.customer_id, count);
        let item = $("customer-list").querySelector(`[data-customer="${CSS.escape(c.customer_id)}"]`);
        if (!item) {
          item = entry(c);
          $("customer-list").append(item);
        }
        item.querySelector(".count").textContent = "counted " + T.charts.fmt(count);
      }
    });
    $("more-customers").hidden = ![...listing.cursors.values()].some((cursor) => cursor);
  }

  /** List who counted in `query.metric` (over `query.day` or `query.from`-`query.to`, and
      `query.detail`) in each of `channels` (null: every channel). */
  async function showCustomers(title, query, channels) {
    listing.query = query;
    listing.cursors = new Map(channels.map((ch) => [ch, undefined]));
    listing.items = new Map();
    $("customer-list").replaceChildren();
    $("customers-title").textContent = title;
    $("customers").hidden = false;
    try {
      await more();
    } catch (error) {
      setStatus(error.message, true);
      return;
    }
    if (!listing.items.size) $("customer-list").append(el("li", { text: "No customers." }));
    $("customers-title").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("more-customers").addEventListener("click", () => {
      more().catch((error) => setStatus(error.message, true));
    });
  });

  T.drill = { showCustomers };
})(window.Threadline);
