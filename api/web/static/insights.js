/* Insights page: journey metrics over a date range and channels (GET /v1/insights/*), the top
   channel paths, and the customers behind a day's figure one click away (each a link to the
   console profile, `/#customer=<id>`). Filters live in the URL fragment. */
"use strict";

(function (T) {
  const { $, el, api, setStatus, CHANNEL_LABELS } = T;
  const C = T.charts;
  // Surveys are answers, never contacts: no volume series for them.
  const CONTACT_CHANNELS = Object.keys(CHANNEL_LABELS).filter((ch) => ch !== "survey");
  const DAY_MS = 86400000;
  const RATES = [
    ["repeat_contact_rate", "Repeat-contact rate", "repeat_contacts", "repeat contacts"],
    ["fcr_rate", "First-contact resolution", "fcr_unresolved", "contacts not resolved first time"],
    ["channel_switch_rate", "Channel-switch rate", "switched_episodes", "episodes that switched channel"],
  ];
  const TOTALS = [
    ["contacts", "Contacts", ""], ["repeat_contact_rate", "Repeat-contact rate", " %"],
    ["fcr_rate", "First-contact resolution", " %"], ["channel_switch_rate", "Channel-switch rate", " %"],
    ["nps", "NPS", ""], ["nps_by_last_channel", "NPS by last channel", ""],
    ["csat", "CSAT", " %"], ["avg_hours_to_first_purchase", "Hours to first purchase", " h"],
  ];
  const listing = { params: null, cursors: new Map(), items: new Map() };
  let current = null;

  const iso = (d) => d.toISOString().slice(0, 10);
  const label = (ch) => CHANNEL_LABELS[ch] || ch;

  function daysBetween(from, to) {
    const out = [];
    for (let t = Date.parse(from); t <= Date.parse(to) && out.length < 400; t += DAY_MS) {
      out.push(iso(new Date(t)));
    }
    return out;
  }

  function readFragment() {
    const p = new URLSearchParams(window.location.hash.slice(1));
    const today = new Date();
    $("to").value = p.get("to") || iso(today);
    $("from").value = p.get("from") || iso(new Date(today.getTime() - 29 * DAY_MS));
    const chosen = p.getAll("channel");
    for (const box of $("channels").querySelectorAll("input")) box.checked = chosen.includes(box.value);
  }

  function filters() {
    const channel = [...$("channels").querySelectorAll("input:checked")].map((box) => box.value);
    return { from: $("from").value, to: $("to").value, channel };
  }

  // --- the customers behind a figure ----------------------------------------------------

  async function moreCustomers() {
    const open = [...listing.cursors].filter(([, cursor]) => cursor !== null);
    const pages = await Promise.all(open.map(([channel, cursor]) => api("/v1/insights/customers",
      { ...listing.params, channel, cursor, limit: 50 })));
    pages.forEach((page, i) => {
      listing.cursors.set(open[i][0], page.next_cursor);
      for (const c of page.customers) {
        const count = (listing.items.get(c.customer_id) || 0) + c.value;
        listing.items.set(c.customer_id, count);
        let item = $("customer-list").querySelector(`[data-customer="${CSS.escape(c.customer_id)}"]`);
        if (!item) {
          item = el("li", { "data-customer": c.customer_id },
            el("a", { href: "/#customer=" + encodeURIComponent(c.customer_id), text: c.customer_id }),
            " ", el("span", { className: "hint" }));
          $("customer-list").append(item);
        }
        item.querySelector(".hint").textContent = "counted " + C.fmt(count);
      }
    });
    $("more-customers").hidden = ![...listing.cursors.values()].some((cursor) => cursor);
  }

  /** List who counted in `metric` on `day`, over `channels` (null: every channel). */
  async function showCustomers(title, metric, day, channels) {
    listing.params = { metric, day };
    listing.cursors = new Map(channels.map((ch) => [ch, undefined]));
    listing.items = new Map();
    $("customer-list").replaceChildren();
    $("customers-title").textContent = title;
    $("customers").hidden = false;
    try {
      await moreCustomers();
    } catch (error) {
      setStatus(error.message, true);
      return;
    }
    if (!listing.items.size) $("customer-list").append(el("li", { text: "No customers." }));
    $("customers-title").focus();
  }

  function pickChannels(channel) {
    if (channel) return [channel];
    return current.channel.length ? current.channel : [null];
  }

  // --- the charts -----------------------------------------------------------------------

  function renderTotals(report) {
    $("totals").replaceChildren(...TOTALS.flatMap(([key, name, unit]) => [
      el("div", { className: "total", "data-measure": key },
        el("dt", { text: name }), el("dd", { text: C.fmt(report.totals[key], unit) }))]));
    $("as-of").textContent = report.as_of ? "Figures as of " +
      new Date(report.as_of).toLocaleString() + "." : "Figures have not been computed yet.";
  }

  function renderVolume(days, shown, perChannel) {
    const counts = perChannel.map((report) => Object.fromEntries(
      report.by_day.map((d) => [d.day, d.figures.contacts || 0])));
    const pick = (channel, day) => () => showCustomers(
      "Customers behind " + (channel ? label(channel) + " contacts" : "contacts") + " on " + day,
      "contacts", day, pickChannels(channel));
    C.draw("chart-volume", "bar", days, shown.map((ch, i) => ({
      label: label(ch), data: days.map((d) => counts[i][d] || 0),
      backgroundColor: C.channelColour(ch), stack: "contacts",
    })), { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
      ticks: { precision: 0 } } } }, (ds, i) => pick(shown[ds], days[i])());
    const rows = days.filter((d) => counts.some((c) => c[d])).map((day) => {
      const values = counts.map((c) => c[day] || 0);
      const total = values.reduce((a, b) => a + b, 0);
      return [day, ...values.map((n, i) => (n ? { text: String(n), pick: pick(shown[i], day),
        label: n + " " + label(shown[i]) + " contacts on " + day + ": list the customers" } : "0")),
      { text: String(total), pick: pick(null, day), label: total + " contacts on " + day + ": list the customers" }];
    });
    C.table("chart-volume", "Contacts per day and channel", ["Day", ...shown.map(label), "Total"], rows);
  }

  function renderRates(days, report) {
    const byDay = Object.fromEntries(report.by_day.map((d) => [d.day, d.figures]));
    const pick = (r, day) => () => showCustomers("Customers behind " + RATES[r][3] + " on " + day,
      RATES[r][2], day, pickChannels(null));
    C.draw("chart-rates", "line", days, RATES.map(([key, name], i) => ({
      label: name + " (%)", data: days.map((d) => (byDay[d] ? byDay[d][key] : null)),
      borderColor: C.SERIES[i], backgroundColor: C.SERIES[i], spanGaps: true, pointRadius: 4,
    })), { scales: { y: { min: 0, max: 100 } } }, (r, i) => pick(r, days[i])());
    const rows = report.by_day.map((d) => [d.day, ...RATES.map(([key, name], r) => {
      const value = d.figures[key];
      if (value === null) return "–";
      return { text: C.fmt(value, " %"), pick: pick(r, d.day),
        label: name + " " + C.fmt(value, " %") + " on " + d.day + ": list the " + RATES[r][3] };
    })]);
    C.table("chart-rates", "Rates per day", ["Day", ...RATES.map(([, name]) => name)], rows);
  }

  function renderPaths(report) {
    C.table($("paths"), "Top channel paths", ["Path", "Episodes", "Share"],
      report.paths.map((p) => [p.channels.map(label).join(" → "), String(p.episodes),
        C.fmt(report.episodes ? (100 * p.episodes) / report.episodes : null, " %")]));
  }

  async function load() {
    const f = filters();
    if (!f.from || !f.to) {
      setStatus("Choose both dates.", true);
      return;
    }
    const fragment = new URLSearchParams({ from: f.from, to: f.to });
    for (const ch of f.channel) fragment.append("channel", ch);
    history.replaceState(null, "", "#" + fragment);
    setStatus("Loading…");
    const shown = (f.channel.length ? f.channel : CONTACT_CHANNELS)
      .filter((ch) => CONTACT_CHANNELS.includes(ch));
    let metrics, paths, perChannel;
    try {
      [metrics, paths, ...perChannel] = await Promise.all([
        api("/v1/insights/metrics", f),
        api("/v1/insights/paths", { ...f, limit: 10 }),
        ...shown.map((channel) => api("/v1/insights/metrics", { from: f.from, to: f.to, channel })),
      ]);
    } catch (error) {
      setStatus(error.message, true);
      return;
    }
    current = f;
    const days = daysBetween(f.from, f.to);
    renderTotals(metrics);
    renderVolume(days, shown, perChannel);
    renderRates(days, metrics);
    C.byChannel("chart-nps", "NPS by channel", metrics, [["nps", "NPS (channel asked about)"],
      ["nps_by_last_channel", "NPS (last channel before the survey)"]], "", { min: -100, max: 100 });
    C.byChannel("chart-csat", "CSAT by channel", metrics, [["csat", "CSAT (channel asked about)"],
      ["csat_by_last_channel", "CSAT (last channel before the survey)"]], " %", { min: 0, max: 100 });
    C.byChannel("chart-purchase", "Time to first purchase", metrics,
      [["avg_hours_to_first_purchase", "Mean hours to first purchase"]], " h");
    renderPaths(paths);
    setStatus("Showing " + f.from + " to " + f.to + (f.channel.length ?
      ", " + f.channel.map(label).join(", ") : ", all channels") + ".");
  }

  document.addEventListener("DOMContentLoaded", async () => {
    readFragment();
    $("insight-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    $("more-customers").addEventListener("click", () => {
      moreCustomers().catch((error) => setStatus(error.message, true));
    });
    await T.start(() => load(), () => { $("customers").hidden = true; });
  });
})(window.Threadline);
