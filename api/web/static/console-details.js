/* Threadline agent console: what an expanded timeline item shows, per channel, the facts an
   agent reads first (an email's sender, subject and excerpt; a call's queue, agent, duration
   and disposition; an order's lines), then every field under "All details". Text only. */
"use strict";

(function (T) {
  const { el } = T;
  const KIND_LABELS = {
    call_in_progress: "call in progress", call_completed: "call", call_missed: "missed call",
    call_abandoned: "abandoned call", email_received: "email received", email_sent: "email sent",
    order_placed: "order", survey_response: "survey response", page_viewed: "page view",
  };
  // A call announced but never followed by its record is not "in progress" for ever.
  const IN_PROGRESS_HOURS = 4;

  function words(text) {
    return String(text).replaceAll("_", " ");
  }

  function kindLabel(kind) {
    return KIND_LABELS[kind] || words(kind);
  }

  function durationText(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (h) return h + " h " + m + " min";
    return m ? m + " min " + (s % 60) + " s" : (s % 60) + " s";
  }

  /** Promoter (9-10), passive (7-8) or detractor (0-6): the NPS category of a score. */
  function npsCategory(score) {
    const n = Number(score);
    if (!Number.isFinite(n)) return null;
    return n >= 9 ? "promoter" : n >= 7 ? "passive" : "detractor";
  }

  function scoreText(metric, score, scaleMax) {
    const name = String(metric || "score").toUpperCase();
    const scale = scaleMax ? " / " + scaleMax : (metric === "nps" ? " / 10" : "");
    const category = metric === "nps" ? npsCategory(score) : null;
    return name + " " + score + scale + (category ? " · " + category : "");
  }

  function isInProgress(item) {
    if (item.kind !== "call_in_progress") return false;
    return Date.now() - new Date(item.occurred_at).getTime() < IN_PROGRESS_HOURS * 3600e3;
  }

  function money(amount, currency) {
    return amount === undefined || amount === null ? null : amount + (currency ? " " + currency : "");
  }

  function person(name, address) {
    if (name && address) return name + " <" + address + ">";
    return name || address || null;
  }

  function list(value) {
    return Array.isArray(value) ? value.join(", ") : value;
  }

  /** [label, value, field names shown] per channel and kind; empty values are left out. */
  function keyFacts(item) {
    const a = item.attributes || {};
    if (item.channel === "email") {
      return [
        ["From", person(a.from_name, a.from), ["from", "from_name"]],
        ["To", list(a.to), ["to"]],
        ["Subject", a.subject, ["subject"]],
        ["Attachments", a.attachment_count ? list(a.attachment_names) || a.attachment_count : null,
          ["attachment_count", "attachment_names", "has_attachments"]],
      ];
    }
    if (item.channel === "call_centre") {
      return [
        ["State", item.kind === "call_in_progress" ? a.state : null, ["state"]],
        ["Queue", a.queue, ["queue"]],
        ["Agent", a.agent, ["agent"]],
        ["Duration", a.duration_s !== undefined ? durationText(a.duration_s) : null, ["duration_s"]],
        ["Disposition", a.disposition ? words(a.disposition) :
          a.disconnect_reason ? words(a.disconnect_reason) : null, ["disposition", "disconnect_reason"]],
        ["Direction", a.direction, ["direction"]],
        ["Talk time", a.talk_s !== undefined ? durationText(a.talk_s) : null, ["talk_s"]],
        ["On hold", a.hold_s ? durationText(a.hold_s) : null, ["hold_s"]],
        ["Contact", a.contact_id, ["contact_id"]],
      ];
    }
    if (item.channel === "chat") {
      return [
        ["From", a.author_name || (a.author_role ? words(a.author_role) : null),
          ["author_name", "author_role"]],
        ["Conversation", a.conversation_id, ["conversation_id"]],
      ];
    }
    if (item.channel === "survey") {
      return [
        ["Score", a.score !== undefined ? scoreText(a.metric, a.score, a.scale_max) : null,
          ["score", "metric", "scale_max"]],
        ["Comment", a.comment, ["comment"]],
        ["About", a.related_channel ? T.CHANNEL_LABELS[a.related_channel] || a.related_channel : null,
          ["related_channel"]],
      ];
    }
    if (item.channel === "store") {
      return [
        ["Order", a.order_name || a.order_id || a.receipt_id, ["order_name", "order_id", "receipt_id"]],
        ["Total", money(a.total, a.currency), ["total", "currency"]],
        ["Where", a.sales_channel === "in_store" ? "In store" + (a.store_id ? " " + a.store_id : "")
          : a.sales_channel === "online" ? "Online" : null, ["sales_channel", "store_id"]],
        ["Status", [a.financial_status, a.fulfillment_status].filter(Boolean).map(words).join(", ") || null,
          ["financial_status", "fulfillment_status"]],
      ];
    }
    return [
      ["Page", a.title || a.name || null, ["title", "name"]],
      ["Address", a.url || a.path || null, ["url", "path"]],
      ["Came from", a.referrer || null, ["referrer"]],
      ["Event", a.event || null, ["event"]],
    ];
  }

  function linesTable(lines) {
    const rows = lines.map((line) => el("tr", {},
      el("td", { text: line.title || line.description || line.sku || "Item" }),
      el("td", { className: "num", text: line.quantity !== undefined ? String(line.quantity) : "" }),
      el("td", { className: "num", text: line.price || line.amount || "" })));
    return el("table", { className: "lines" },
      el("caption", { className: "visually-hidden", text: "Order lines" }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Item" }),
        el("th", { scope: "col", className: "num", text: "Qty" }),
        el("th", { scope: "col", className: "num", text: "Price" }))),
      el("tbody", {}, ...rows));
  }

  function allDetails(attributes, shown) {
    const dl = el("dl", { className: "attributes" });
    for (const [name, value] of Object.entries(attributes)) {
      if (shown.has(name)) continue;
      const text = typeof value === "object" ? JSON.stringify(value, null, 1) : String(value);
      dl.append(el("dt", { text: words(name) }),
        el("dd", { text: text.length > 600 ? text.slice(0, 600) + "…" : text }));
    }
    return dl.children.length ? el("details", { className: "more" },
      el("summary", { text: "All details" }), dl) : null;
  }

  /** The body of an expanded item: key facts, the excerpt or text, order lines, the rest. */
  function body(item) {
    const a = item.attributes || {};
    const shown = new Set(["revision", "screen_pop", "traits", "skipped_identifiers"]);
    const facts = el("dl", { className: "facts-list" });
    for (const [label, value, fields] of keyFacts(item)) {
      for (const field of fields) shown.add(field);
      if (value === null || value === undefined || value === "") continue;
      facts.append(el("dt", { text: label }), el("dd", { text: String(value) }));
    }
    const parts = [];
    const quote = item.channel === "email" ? a.excerpt : item.channel === "chat" ? a.text : null;
    if (quote) {
      shown.add(item.channel === "email" ? "excerpt" : "text");
      parts.push(el("blockquote", { className: "excerpt", text: quote }));
    }
    if (facts.children.length) parts.unshift(facts);
    if (Array.isArray(a.lines) && a.lines.length) {
      shown.add("lines");
      parts.push(linesTable(a.lines));
    }
    parts.push(el("p", { className: "hint", text: "Source: " + item.source }));
    const rest = allDetails(a, shown);
    if (rest) parts.push(rest);
    return parts;
  }

  T.details = { body, kindLabel, durationText, npsCategory, scoreText, isInProgress };
})(window.Threadline);
