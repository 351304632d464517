/* Insights page: journey metrics over a date range and channels (GET /v1/insights/*): the
   totals, NPS against the journey and by channel, weekly resolution and scores, daily volume,
   failed self-service, time to purchase and the top paths. Every figure lists the customers
   behind it (insights-drill.js). Filters live in the URL fragment. */
"use strict";

(function (T) {
  const { $, api, setStatus, CHANNEL_LABELS } = T;
  const C = T.charts;
  // Contacts happen on assisted channels only: no volume series for the web or surveys.
  const ASSISTED = ["call_centre", "chat", "email", "store"];
  const DAY_MS = 86400000;
  const JOURNEYS = {
    one_contact: "One contact",
    after_self_service: "One contact, after the help pages",
    repeated: "Repeated on one channel",
    switched: "Switched channel",
    no_contact: "No contact (after a purchase)",
  };
  // [figure, name, unit, measure listed, what the list is]
  const TOTALS = [
    ["contacts", "Contacts", "", "contacts", "contacts"],
    ["repeat_contact_rate", "Repeat-contact rate", " %", "repeat_contacts", "repeat contacts"],
    ["fcr_rate", "First-contact resolution", " %", "fcr_unresolved", "first contacts not resolved"],
    ["channel_switch_rate", "Channel switching", " %", "switched_matters", "matters that switched channel"],
    ["failed_self_service_rate", "Failed self-service", " %", "failed_self_service", "help visits followed by a contact"],
    ["contacts_per_matter", "Contacts per matter", "", "matters", "matters"],
    ["nps", "NPS", "", "nps_detractors", "NPS detractors"],
    ["csat", "CSAT", " %", "csat_unsatisfied", "unsatisfied CSAT answers"],
    ["ces", "Found it easy (CES)", " %", "ces_not_easy", "answers that found it hard"],
    ["avg_hours_to_first_purchase", "Hours to first purchase", " h", "first_purchases", "first purchases"],
  ];
  const RATES = [
    ["fcr_rate", "First-contact resolution", C.GOOD, [], "fcr_unresolved", "first contacts not resolved"],
    ["repeat_contact_rate", "Repeat contacts", C.BAD, [6, 4], "repeat_contacts", "repeat contacts"],
    ["channel_switch_rate", "Channel switching", C.WARN, [2, 3], "switched_matters", "matters that switched channel"],
    ["failed_self_service_rate", "Failed self-service", C.OTHER, [10, 3, 2, 3], "failed_self_service", "help visits followed by a contact"],
  ];
  let current = null;

  const iso = (d) => d.toISOString().slice(0, 10);
  const label = (ch) => CHANNEL_LABELS[ch] || ch;
  const weekEnd = (monday) => iso(new Date(Date.parse(monday) + 6 * DAY_MS));

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
    $("from").value = p.get("from") || iso(new Date(today.getTime() - 89 * DAY_MS));
    const chosen = p.getAll("channel");
    for (const box of $("channels").querySelectorAll("input")) box.checked = chosen.includes(box.value);
  }

  function filters() {
    const channel = [...$("channels").querySelectorAll("input:checked")].map((box) => box.value);
    return { from: $("from").value, to: $("to").value, channel };
  }

  /** List the customers behind `metric` over `span` ({day} or {from, to}), in `channel` (or
      the filtered channels), with `detail`. */
  function lister(title, metric, span, channel, detail) {
    const channels = channel ? [channel] : current.channel.length ? current.channel : [null];
    return () => T.drill.showCustomers(title, { metric, ...span, detail: detail || null }, channels);
  }

  function range() {
    return { from: current.from, to: current.to };
  }

  function renderTotals(report) {
    $("totals").replaceChildren(...TOTALS.map(([key, name, unit, metric, what]) => {
      const value = report.totals[key];
      const count = report.measures[metric];
      const figure = C.pickable(value, unit, name, lister("Customers behind the " + what + ", " +
        current.from + " to " + current.to, metric, range()), count);
      const dd = T.el("dd");
      if (typeof figure === "string") dd.textContent = figure;
      else {
        const button = T.el("button", { type: "button", className: "figure total-figure",
          "aria-label": figure.label, text: figure.text });
        button.addEventListener("click", figure.pick);
        dd.append(button);
      }
      return T.el("div", { className: "total", "data-measure": key }, T.el("dt", { text: name }), dd);
    }));
    $("as-of").textContent = report.as_of ? "Figures as of " +
      new Date(report.as_of).toLocaleString() + "; kept current while the stack runs." :
      "Figures have not been computed yet.";
  }

  function renderJourney(report) {
    const keys = Object.keys(JOURNEYS).filter((k) => report.by_journey[k]);
    const names = keys.map((k) => JOURNEYS[k]);
    const nps = keys.map((k) => report.by_journey[k].nps);
    const pick = (k) => lister("NPS detractors whose matter was: " + JOURNEYS[k].toLowerCase(),
      "nps_detractors", range(), null, k);
    C.bars("chart-journey", names, "NPS", nps, C.npsColour, { min: -100, max: 100 },
      (i) => pick(keys[i])());
    C.table("chart-journey", "NPS, CSAT and CES by journey", ["Journey", "NPS", "Answers", "CSAT", "CES"],
      keys.map((k) => {
        const f = report.by_journey[k];
        return [JOURNEYS[k], C.pickable(f.nps, "", "NPS of " + JOURNEYS[k], pick(k)),
          C.fmt(f.nps_responses), C.fmt(f.csat, " %"), C.fmt(f.ces, " %")];
      }));
  }

  function renderChannels(report) {
    const channels = Object.keys(report.by_channel).filter((ch) => report.by_channel[ch].nps_responses);
    const pick = (ch) => lister("NPS detractors about " + label(ch), "nps_detractors", range(), ch);
    C.bars("chart-channel", channels.map(label), "NPS", channels.map((ch) => report.by_channel[ch].nps),
      C.npsColour, { min: -100, max: 100 }, (i) => pick(channels[i])());
    C.table("chart-channel", "NPS, CSAT and CES by channel", ["Channel", "NPS", "Answers", "CSAT", "CES"],
      channels.map((ch) => {
        const f = report.by_channel[ch];
        return [label(ch), C.pickable(f.nps, "", "NPS about " + label(ch), pick(ch)),
          C.fmt(f.nps_responses), C.fmt(f.csat, " %"), C.fmt(f.ces, " %")];
      }));
  }

  function renderRates(report) {
    const weeks = report.by_week;
    const pick = (r, w) => lister("Customers behind the " + RATES[r][5] + ", week of " + w.day,
      RATES[r][4], { from: w.day, to: weekEnd(w.day) });
    C.draw("chart-rates", "line", weeks.map((w) => w.day), RATES.map(([key, name, colour, dash]) => ({
      label: name + " (%)", data: weeks.map((w) => w.figures[key]), borderColor: colour,
      backgroundColor: colour, borderDash: dash, spanGaps: true, pointRadius: 3,
    })), { scales: { y: { min: 0, max: 100 } } }, (r, i) => pick(r, weeks[i])());
    C.table("chart-rates", "Rates per week", ["Week of", ...RATES.map(([, name]) => name)],
      weeks.map((w) => [w.day, ...RATES.map(([key, name], r) =>
        C.pickable(w.figures[key], " %", name + ", week of " + w.day, pick(r, w)))]));
  }

  function renderScores(report) {
    const weeks = report.by_week.filter((w) => w.figures.nps_responses);
    const pick = (w) => lister("NPS detractors, week of " + w.day, "nps_detractors",
      { from: w.day, to: weekEnd(w.day) });
    C.draw("chart-scores", "line", weeks.map((w) => w.day), [
      { label: "NPS", data: weeks.map((w) => w.figures.nps), borderColor: C.NEUTRAL,
        backgroundColor: C.NEUTRAL, yAxisID: "y" },
      { label: "CSAT (%)", data: weeks.map((w) => w.figures.csat), borderColor: C.GOOD,
        backgroundColor: C.GOOD, borderDash: [6, 4], yAxisID: "y" },
    ], { scales: { y: { min: -100, max: 100 } } }, (d, i) => pick(weeks[i])());
    C.table("chart-scores", "NPS and CSAT per week", ["Week of", "NPS", "Answers", "CSAT"],
      weeks.map((w) => [w.day, C.pickable(w.figures.nps, "", "NPS, week of " + w.day, pick(w)),
        C.fmt(w.figures.nps_responses), C.fmt(w.figures.csat, " %")]));
  }

  function renderVolume(days, shown, perChannel) {
    const counts = perChannel.map((report) => Object.fromEntries(
      report.by_day.map((d) => [d.day, d.figures.contacts || 0])));
    const pick = (channel, day) => lister("Customers behind " + (channel ? label(channel) +
      " contacts" : "contacts") + " on " + day, "contacts", { day }, channel);
    C.draw("chart-volume", "bar", days, shown.map((ch, i) => ({
      label: label(ch), data: days.map((d) => counts[i][d] || 0),
      backgroundColor: C.channelColour(ch), stack: "contacts",
    })), { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
      ticks: { precision: 0 } } } }, (ds, i) => pick(shown[ds], days[i])());
    const rows = days.filter((d) => counts.some((c) => c[d])).reverse().map((day) => {
      const values = counts.map((c) => c[day] || 0);
      const total = values.reduce((a, b) => a + b, 0);
      return [day, ...values.map((n, i) => C.pickable(n, "", label(shown[i]) + " contacts on " + day,
        pick(shown[i], day), n)), C.pickable(total, "", "Contacts on " + day, pick(null, day), total)];
    });
    C.table("chart-volume", "Contacts per day and channel, newest first",
      ["Day", ...shown.map(label), "Total"], rows);
  }

  function renderSelfService(report) {
    const to = Object.keys(report.self_service_failed_to);
    const counts = to.map((ch) => report.self_service_failed_to[ch]);
    const all = counts.reduce((a, b) => a + b, 0);
    const pick = (ch) => lister("Help visits followed by a " + label(ch) + " contact",
      "failed_self_service", range(), null, ch);
    C.bars("chart-self-service", to.map(label), "Failed help visits", counts,
      () => C.channelColour("web"), null, (i) => pick(to[i])());
    C.table("chart-self-service", "Failed self-service by the channel it went to",
      ["Went to", "Help visits", "Share"], to.map((ch, i) => [label(ch),
        C.pickable(counts[i], "", "Help visits followed by " + label(ch), pick(ch)),
        C.fmt(all ? (100 * counts[i]) / all : null, " %")]));
  }

  function renderPurchase(report) {
    const channels = Object.keys(report.by_channel)
      .filter((ch) => report.by_channel[ch].avg_hours_to_first_purchase !== null);
    const pick = (ch) => lister("First purchases made in " + label(ch), "first_purchases", range(), ch);
    C.bars("chart-purchase", channels.map(label), "Mean hours",
      channels.map((ch) => report.by_channel[ch].avg_hours_to_first_purchase),
      (v, i) => C.channelColour(channels[i] || "web"), null, (i) => pick(channels[i])());
    C.table("chart-purchase", "Time to first purchase by the channel of the order",
      ["Ordered in", "Mean hours", "First purchases"], channels.map((ch) => {
        const f = report.by_channel[ch];
        return [label(ch), C.fmt(f.avg_hours_to_first_purchase, " h"),
          C.pickable(f.first_purchases, "", "First purchases in " + label(ch), pick(ch))];
      }));
  }

  function renderPaths(report) {
    const pick = (p) => lister("Matters that went " + p.channels.map(label).join(" → "),
      "path_matters", range(), null, p.path);
    C.table($("paths"), "Top channel paths", ["Path", "Matters", "Share"],
      report.paths.map((p) => [p.channels.map(label).join(" → "),
        C.pickable(p.matters, "", "Matters that went " + p.channels.map(label).join(" then "), pick(p)),
        C.fmt(report.matters ? (100 * p.matters) / report.matters : null, " %")]));
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
    const shown = (f.channel.length ? f.channel : ASSISTED).filter((ch) => ASSISTED.includes(ch));
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
    renderTotals(metrics);
    renderJourney(metrics);
    renderChannels(metrics);
    renderRates(metrics);
    renderScores(metrics);
    renderVolume(daysBetween(f.from, f.to), shown, perChannel);
    renderSelfService(metrics);
    renderPurchase(metrics);
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
    await T.start(() => load(), () => { $("customers").hidden = true; });
  });
})(window.Threadline);
