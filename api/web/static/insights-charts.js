/* Insights page drawing: Chart.js charts (vendored, canvas only, so the strict CSP holds) and
   the data table beside each one, which carries the same figures for screen readers and the
   keyboard; a figure with customers behind it is a button. Colours follow meaning: good is
   green, bad is red, neutral is blue; lines also differ by dash, for those who cannot tell
   the colours apart. */
"use strict";

(function (T) {
  const charts = {};
  const GOOD = "#106b45";
  const BAD = "#a4161a";
  const WARN = "#8a5a00";
  const NEUTRAL = "#0b4f8a";
  const OTHER = "#6b2a7a";

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function channelColour(channel) {
    return cssVar("--" + channel) || cssVar("--muted");
  }

  /** Green for a good NPS (>= 0), red below. */
  function npsColour(value) {
    return value === null || value === undefined ? NEUTRAL : value >= 0 ? GOOD : BAD;
  }

  /** Green for a high share (>= 75 %), amber from 50 %, red below. */
  function shareColour(value) {
    if (value === null || value === undefined) return NEUTRAL;
    return value >= 75 ? GOOD : value >= 50 ? WARN : BAD;
  }

  function fmt(value, unit) {
    if (value === null || value === undefined) return "–";
    return value.toLocaleString("en", { maximumFractionDigits: 1 }) + (unit || "");
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

  /** A figure cell that lists its customers when selected (plain text when there are none). */
  function pickable(value, unit, label, pick, count) {
    if (value === null || value === undefined) return "–";
    if (!pick || count === 0) return fmt(value, unit);
    return { text: fmt(value, unit), label: label + ": " + fmt(value, unit) + ", list the customers",
      pick };
  }

  /** Bars of one figure per category, coloured by `colour(value)`. */
  function bars(id, labels, legend, values, colour, scale, onPick) {
    draw(id, "bar", labels, [{ label: legend, data: values, backgroundColor: values.map(colour) }],
      { plugins: { legend: { display: false } }, scales: { y: scale || { beginAtZero: true } } },
      onPick ? (ds, i) => onPick(i) : null);
  }

  T.charts = {
    draw, table, bars, pickable, fmt, channelColour, npsColour, shareColour,
    GOOD, BAD, WARN, NEUTRAL, OTHER,
  };
})(window.Threadline);
