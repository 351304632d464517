/* Insights page drawing: Chart.js charts (vendored, canvas only, so the strict CSP holds) and
   the data table beside each one, which carries the same figures for screen readers and the
   keyboard; a figure with customers behind it is a button. */
"use strict";

(function (T) {
  const charts = {};
  const SERIES = ["#0b4f8a", "#b3261e", "#106b45", "#7a5a00"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function channelColour(channel) {
    return cssVar("--" + channel) || cssVar("--muted");
  }

  function fmt(value, unit) {
    if (value === null || value === undefined) return "–";
    return value.toLocaleString("en", { maximumFractionDigits: 2 }) + (unit || "");
  }

  /** Draw (again) the chart of figure `id`; `onPick(datasetIndex, index)` on a click. */
  function draw(id, type, labels, datasets, options, onPick) {
    if (charts[id]) charts[id].destroy();
    const canvas = document.querySelector("#" + id + " canvas");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = cssVar("--ink");
    charts[id] = new Chart(canvas, {
      type,
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: true },
        plugins: { legend: { position: "bottom" } },
        onClick: (event, elements) => {
          if (onPick && elements.length) onPick(elements[0].datasetIndex, elements[0].index);
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = onPick && elements.length ? "pointer" : "default";
        },
        ...options,
      },
    });
  }

  function cell(value, header) {
    const props = header ? { scope: "row" } : {};
    const tag = header ? "th" : "td";
    if (value && typeof value === "object") {
      const button = T.el("button", { type: "button", className: "figure",
        "aria-label": value.label, text: value.text });
      button.addEventListener("click", value.pick);
      return T.el(tag, props, button);
    }
    return T.el(tag, { ...props, text: value });
  }

  /** Fill `table` (an element or a figure id): a cell is text or {text, label, pick}. */
  function table(target, caption, columns, rows) {
    const tbl = typeof target === "string" ? document.querySelector("#" + target + " table") : target;
    const body = rows.length ? rows.map((row) => T.el("tr", {}, ...row.map((v, i) => cell(v, i === 0))))
      : [T.el("tr", {}, T.el("td", { colspan: columns.length, text: "No figures in this range." }))];
    tbl.replaceChildren(
      T.el("caption", { className: "visually-hidden", text: caption }),
      T.el("thead", {}, T.el("tr", {}, ...columns.map((c) => T.el("th", { scope: "col", text: c })))),
      T.el("tbody", {}, ...body));
  }

  /** Bars per channel for figures of `report.by_channel`; `series` [[key, legend], ...]. */
  function byChannel(id, title, report, series, unit, scale) {
    const channels = Object.keys(report.by_channel)
      .filter((ch) => series.some(([key]) => report.by_channel[ch][key] !== null));
    const labels = channels.map((ch) => T.CHANNEL_LABELS[ch] || ch);
    draw(id, "bar", labels, series.map(([key, legend], i) => ({
      label: legend,
      data: channels.map((ch) => report.by_channel[ch][key]),
      backgroundColor: SERIES[i],
    })), { scales: { y: scale || { beginAtZero: true } } });
    table(id, title, ["Channel", ...series.map(([, legend]) => legend)],
      channels.map((ch, n) => [labels[n], ...series.map(([key]) => fmt(report.by_channel[ch][key], unit))]));
  }

  T.charts = { draw, table, byChannel, fmt, channelColour, SERIES };
})(window.Threadline);
