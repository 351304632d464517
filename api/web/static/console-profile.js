/* Threadline agent console: the profile card (summary, identifiers as an agent reads them,
   unverified claims marked) and the lineage panel: why each identifier is linked (rule, event,
   time, source trust), what was not linked and why, the merged profiles by name, and for
   admins, merge and unmerge behind a confirmation, with the audit entry they left. */
"use strict";

(function (T) {
  const { $, el, icon, timeEl, CHANNEL_LABELS } = T;
  const ID_ORDER = ["email", "phone", "user_id", "loyalty_id", "order_id"];
  const RULES = {
    seen_together: "seen together with this customer's identifiers",
    reference: "a reference: finds the customer, never links two",
    reference_claimed: "a reference claimed by this customer",
    manual_merge: "merged by an admin",
    rederived: "rebuilt from the events in time order",
  };
  const TRUST = {
    server: "trusted source",
    browser_verified: "browser, verified",
    browser_unverified: "browser, unverified",
  };

  function words(text) {
    return String(text).replaceAll("_", " ");
  }

  function section(title, ...content) {
    return el("section", { className: "facts" }, el("h2", { text: title }), ...content);
  }

  function contactLine(contact) {
    return el("p", {}, icon(contact.channel), " ", el("span", { text: contact.summary }), " ",
      el("span", { className: "hint" }, timeEl(contact.occurred_at)));
  }

  function displayName(profile) {
    const traits = profile.traits || {};
    return traits.name || [traits.first_name, traits.last_name].filter(Boolean).join(" ") || null;
  }

  function shownValue(profile, type, value) {
    const held = (profile && profile.identifiers || []).find((i) => i.type === type && i.value === value);
    return (held && held.display) || value;
  }

  function unverifiedClaims(profile) {
    const claims = profile.unverified_claims || [];
    if (!claims.length) return null;
    return section("Unverified claims", el("ul", { className: "plain claims" },
      ...claims.map((c) => el("li", { className: "unverified" },
        el("span", { className: "badge warn", text: "unverified" }), " ",
        el("span", { className: "id-type", text: words(c.type) }), " ",
        el("span", { className: "id-value", text: c.value }), " ",
        c.at ? el("span", { className: "hint" }, "claimed ", timeEl(c.at)) : null))),
    el("p", { className: "hint", text: "Claimed in a browser without verification: not linked, not searchable." }));
  }

  function glance(summary) {
    const parts = [];
    if (summary.open_threads.length) {
      parts.push(section("Waiting for a reply", el("ul", { className: "plain" },
        ...summary.open_threads.map((t) => el("li", { className: "open-thread" },
          icon(t.channel), " ", el("span", { text: t.summary }), " ",
          el("span", { className: "hint" }, "waiting since ", timeEl(t.waiting_since)))))));
    }
    if (summary.last_contact) parts.push(section("Last contact", contactLine(summary.last_contact)));
    if (summary.latest_order) {
      const order = summary.latest_order;
      const total = order.total ? " · " + order.total + " " + (order.currency || "") : "";
      parts.push(section("Latest order", contactLine(order),
        el("p", { className: "hint", text: (order.order || "") + total })));
    }
    if (summary.latest_score) {
      const s = summary.latest_score;
      parts.push(section("Latest survey",
        el("p", { text: T.details.scoreText(s.metric, s.score, s.scale_max) + " " },
          el("span", { className: "hint" }, timeEl(s.at)))));
    }
    const recent = summary.recent;
    const counts = Object.entries(recent.by_channel)
      .map(([channel, n]) => (CHANNEL_LABELS[channel] || channel) + " " + n);
    const text = recent.total === 0 ? "None" :
      recent.total + (recent.capped ? "+" : "") + " (" + counts.join(", ") + ")";
    parts.push(section("Last " + recent.days + " days", el("p", { text })));
    return el("div", { className: "glance" }, ...parts);
  }

  /** The card of `profile` (the signals badge's container is left alone). */
  function renderProfile(profile) {
    $("profile-name").textContent = displayName(profile) || "Unnamed customer";
    const rank = (i) => (ID_ORDER.includes(i.type) ? ID_ORDER.indexOf(i.type) : ID_ORDER.length);
    const ids = el("ul", { className: "plain identifiers" },
      ...[...profile.identifiers].sort((a, b) => rank(a) - rank(b)).map((i) => el("li", {},
        el("span", { className: "id-type", text: words(i.type) }), " ",
        el("span", { className: "id-value", text: i.display || i.value }))));
    const channels = el("ul", { className: "plain channels" },
      ...Object.entries(profile.channels).map(([channel, stats]) => el("li", {},
        icon(channel), " ", (CHANNEL_LABELS[channel] || channel) + ": " + stats.count + ", last ",
        stats.last_at ? timeEl(stats.last_at) : "never")));
    const body = $("profile-body");
    body.replaceChildren(
      profile.summary ? glance(profile.summary) : "",
      section("Identifiers", ids),
      unverifiedClaims(profile) || "",
      section("Channels", channels));
    if (profile.merged_ids.length) {
      const n = profile.merged_ids.length;
      body.append(section("Merged profiles", el("p", { className: "hint",
        text: n + (n === 1 ? " profile was" : " profiles were") + " merged into this one: see why below." })));
    }
    body.append(el("p", { className: "hint customer-id" }, "Customer id ",
      el("span", { className: "id-value", text: profile.customer_id })));
  }

  // --- lineage ---------------------------------------------------------------------------

  function eventLine(lineage, eventId, at) {
    const e = lineage.events[eventId];
    if (!e) {
      const what = eventId.startsWith("manual:") ? "an admin's merge"
        : eventId.startsWith("unmerge:") ? "an admin's split" : "event " + eventId;
      return el("span", { className: "hint" }, what + (at ? ", " : ""), at ? timeEl(at) : "");
    }
    return el("span", { className: "hint" }, icon(e.channel), " ", el("q", { text: e.summary }),
      " (" + (CHANNEL_LABELS[e.channel] || e.channel) + ", " + e.source + ") ", timeEl(e.occurred_at));
  }

  function linkItem(lineage, profile, link) {
    const trust = link.trust || "server";
    const unverified = trust === "browser_unverified";
    return el("li", { className: unverified ? "unverified" : null, "data-trust": trust },
      el("span", { className: "id-type", text: words(link.type) }), " ",
      el("span", { className: "id-value", text: shownValue(profile, link.type, link.value) }), " ",
      el("span", { className: "badge" + (unverified ? " warn" : ""), text: TRUST[trust] || words(trust) }),
      el("br"),
      el("span", { text: RULES[link.rule] || words(link.rule) }), ", first in ",
      eventLine(lineage, link.event_id, link.first_seen));
  }

  function reasonText(reason) {
    if (reason.startsWith("unverified")) return "unverified claim from a browser: not linked";
    if (reason.startsWith("limit:")) return "over the limit of " + words(reason.slice(6)) + " values per customer";
    if (reason.startsWith("weak:")) return "a shared " + words(reason.slice(5)) + ": not enough to link two people";
    if (reason === "separated") return "kept apart by an admin";
    return words(reason);
  }

  function mergeItem(lineage, merge, canAdmin, onUnmerge) {
    const name = merge.merged_name || (merge.identifiers[0] && merge.identifiers[0].value) || "A profile";
    const linkedBy = merge.identifiers.map((i) => words(i.type) + " " + i.value).join(", ");
    const button = canAdmin ? el("button", { type: "button", className: "secondary small",
      text: "Split off…", "aria-label": "Split " + name + " off this profile" }) : null;
    if (button) button.addEventListener("click", () => onUnmerge(merge, name));
    return el("li", { "data-merged-id": merge.merged_id },
      el("strong", { text: name }), " ", el("span", { className: "id-value hint", text: merge.merged_id }),
      el("br"), "merged in ", timeEl(merge.merged_at), " (" + (RULES[merge.rule] || words(merge.rule)) + ")",
      linkedBy ? ", linked by " + linkedBy : "", el("br"), eventLine(lineage, merge.event_id, null),
      button ? el("br") : null, button);
  }

  function mergeForm(onMerge) {
    const input = el("input", { id: "merge-other", type: "text", autocomplete: "off", spellcheck: "false",
      maxlength: "200", required: true, placeholder: "cus_…" });
    const form = el("form", { className: "merge-form" },
      el("label", { for: "merge-other", text: "Merge another customer into this one (customer id)" }),
      el("div", { className: "search-row" }, input, el("button", { type: "submit", text: "Merge…" })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim()) onMerge(input.value.trim());
    });
    return form;
  }

  /** Fill the lineage panel from `GET /links`; admins get merge and unmerge controls. */
  function renderLineage(lineage, profile, admin) {
    const canAdmin = Boolean(admin);
    const parts = [section("Why each identifier is linked", el("ul", { className: "plain lineage-links" },
      ...lineage.links.map((link) => linkItem(lineage, profile, link))))];
    if (lineage.conflicts.length) {
      parts.push(section("Seen but not linked", el("ul", { className: "plain lineage-conflicts" },
        ...lineage.conflicts.map((c) => el("li", { className: c.reason.startsWith("unverified") ? "unverified" : null },
          el("span", { className: "id-type", text: words(c.type) }), " ",
          el("span", { className: "id-value", text: shownValue(profile, c.type, c.value) }), " ",
          c.reason.startsWith("unverified") ? el("span", { className: "badge warn", text: "unverified" }) : null,
          el("br"), el("span", { text: reasonText(c.reason) }), ", in ", eventLine(lineage, c.event_id, null))))));
    }
    parts.push(section("Merged profiles", lineage.merges.length
      ? el("ul", { className: "plain lineage-merges" },
        ...lineage.merges.map((m) => mergeItem(lineage, m, canAdmin, admin && admin.unmerge)))
      : el("p", { className: "hint", text: "None: this profile was never merged with another." })));
    if (canAdmin) parts.push(mergeForm(admin.merge));
    $("lineage").replaceChildren(...parts);
  }

  /** Ask before an admin change: a modal dialog, keyboard and screen-reader friendly. */
  function confirmAction(title, text, okLabel) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    return new Promise((resolve) => {
      const done = (ok) => {
        dialog.removeEventListener("close", onClose);
        $("confirm-ok").removeEventListener("click", onOk);
        if (dialog.open) dialog.close();
        resolve(ok);
      };
      const onOk = () => done(true);
      const onClose = () => done(false);
      $("confirm-ok").addEventListener("click", onOk);
      dialog.addEventListener("close", onClose);
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  T.profile = { renderProfile, renderLineage, displayName, confirmAction };
})(window.Threadline);
