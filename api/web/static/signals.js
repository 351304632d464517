/* The moments-of-truth badge on the agent's profile card: GET /v1/customers/{id}/signals,
   newest first; nothing at all when the customer has none. The stack raises signals while it
   runs, so the badge looks again every `REFRESH_MS` while the same customer is open. */
"use strict";

(function (T) {
  const REFRESH_MS = 20000;
  const RULES = {
    unanswered_email: "Unanswered email",
    order_contacts: "Chasing an order",
    detractor_open_matter: "Detractor with an open matter",
  };
  let timer = null;

  function render(container, signals) {
    const count = signals.length;
    container.replaceChildren(
      T.el("h2", { id: "signals-title", className: "badge-title" },
        T.el("span", { className: "badge-count", text: String(count) }), " ",
        count === 1 ? "moment of truth" : "moments of truth"),
      T.el("ul", { className: "plain signal-list", "aria-label": "Newest first" }, ...signals.map((s) =>
        T.el("li", { "data-rule": s.rule },
          T.el("span", { className: "signal-rule", text: RULES[s.rule] || s.rule.replaceAll("_", " ") }),
          " ", T.el("span", { className: "hint", text: s.detail }), " ",
          T.el("span", { className: "hint" }, T.timeEl(s.raised_at))))));
    container.hidden = false;
  }

  async function look(customerId, container) {
    let report;
    try {
      report = await T.api("/v1/customers/" + encodeURIComponent(customerId) + "/signals",
        { limit: 20 });
    } catch (error) {
      return;  // the profile stays usable without its badge
    }
    if (container.dataset.customer !== customerId) return;
    const seen = report.signals.map((s) => s.rule + s.anchor_event_id).join(" ");
    if (seen === container.dataset.seen) return;
    container.dataset.seen = seen;
    if (report.signals.length) render(container, report.signals);
    else {
      container.replaceChildren();
      container.hidden = true;
    }
  }

  /** Fill `container` with the customer's badge (hidden with no signals, or on error), and
      keep it current while `container` shows this customer. */
  async function showSignals(customerId, container) {
    container.replaceChildren();
    container.hidden = true;
    container.dataset.customer = customerId;
    container.dataset.seen = "";
    clearInterval(timer);
    timer = setInterval(() => {
      if (!container.isConnected || container.dataset.customer !== customerId) clearInterval(timer);
      else if (!document.hidden && T.session.key) look(customerId, container);
    }, REFRESH_MS);
    await look(customerId, container);
  }

  T.showSignals = showSignals;
})(window.Threadline);
