/* The moments-of-truth badge on the agent's profile card: GET /v1/customers/{id}/signals,
   newest first; nothing at all when the customer has none. */
"use strict";

(function (T) {
  const RULES = {
    detractor_recontact: "Detractor score, then another contact",
    order_contacts: "Repeated contacts about one order",
    unanswered_email: "Email left unanswered",
  };

  /** Fill `container` with the customer's badge; it stays hidden with no signals (or on error). */
  async function showSignals(customerId, container) {
    container.replaceChildren();
    container.hidden = true;
    container.dataset.customer = customerId;
    let report;
    try {
      report = await T.api("/v1/customers/" + encodeURIComponent(customerId) + "/signals",
        { limit: 20 });
    } catch (error) {
      return;  // the profile stays usable without its badge
    }
    if (container.dataset.customer !== customerId || !report.signals.length) return;
    const count = report.signals.length;
    container.append(
      T.el("h2", { id: "signals-title", className: "badge-title" },
        T.el("span", { className: "badge-count", text: String(count) }), " ",
        count === 1 ? "moment of truth" : "moments of truth"),
      T.el("ul", { className: "plain signal-list", "aria-label": "Newest first" }, ...report.signals.map((s) =>
        T.el("li", { "data-rule": s.rule },
          T.el("span", { className: "signal-rule", text: RULES[s.rule] || s.rule.replaceAll("_", " ") }),
          " ", T.el("span", { className: "hint", text: s.detail }), " ",
          T.el("span", { className: "hint" }, T.timeEl(s.raised_at))))));
    container.hidden = false;
  }

  T.showSignals = showSignals;
})(window.Threadline);
