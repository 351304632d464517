/* Threadline agent console: search (and `/?q=` from a CTI), screen pops, the open customer
   and its live stream, identity changes, the contacts-first and all-activity views, the
   lineage panel. Rendering is in console-profile.js, console-timeline.js and
   console-details.js; sign-in and helpers in shared.js. Data is only ever inserted as text. */
"use strict";

(function () {
  const T = window.Threadline;
  const { $, el, timeEl, setStatus, api, CHANNEL_LABELS } = T;
  const TL = () => T.timeline;
  const PAGE_SIZE = 30;
  const POPS_SEEN = "threadline.popsSeen";
  const state = {
    customer: null, profile: null, cursor: null, visitsUntil: null, visitsMore: false,
    stream: null, agentStream: null, call: null, lineageOpen: false, adminChanging: false,
    gen: 0, opening: 0,
  };

  const customerPath = (id, rest) => "/v1/customers/" + encodeURIComponent(id) + (rest || "");

  function signedOut() {
    for (const s of [state.stream, state.agentStream]) if (s) s.stop();
    state.stream = state.agentStream = state.customer = state.profile = null;
    $("results").hidden = true;
    $("view").hidden = true;
    $("call").hidden = true;
  }

  function notice(text) {
    $("notice-text").textContent = text;
    $("notice").hidden = false;
  }

  // --- search ----------------------------------------------------------------------------

  async function search(query) {
    setStatus("Searching…");
    let results;
    try {
      results = await api("/v1/search", { q: query, limit: 10 });
    } catch (error) {
      setStatus(error.message, true);
      return false;
    }
    const items = results.items;
    if (items.length === 0) {
      $("results").hidden = true;
      setStatus("No customer matches that.", true);
      return false;
    }
    const exact = items.filter((hit) => hit.match.how === "exact");
    if (items.length === 1 || exact.length === 1) {
      return openCustomer((exact[0] || items[0]).customer_id);
    }
    renderResults(items);
    return true;
  }

  function matchText(match) {
    const what = match.field === "name" ? "name" : match.field.replaceAll("_", " ");
    const how = match.how === "local_number" ? " (without area code)" : "";
    return "matched " + what + (match.display ? " " + match.display : "") + how;
  }

  function renderResults(items) {
    const list = $("result-list");
    list.replaceChildren();
    for (const hit of items) {
      const ids = hit.identifiers.map((i) => i.display || i.value).join(" · ");
      const button = el("button", { type: "button", className: "result" },
        el("span", { className: "result-name", text: hit.name || hit.customer_id }),
        el("span", { className: "hint match", text: matchText(hit.match) }),
        el("span", { className: "hint" }, "last seen ", hit.last_seen ? timeEl(hit.last_seen) : "never"),
        el("span", { className: "hint", text: ids }));
      button.addEventListener("click", () => openCustomer(hit.customer_id));
      list.append(el("li", {}, button));
    }
    $("view").hidden = true;
    $("results").hidden = false;
    setStatus(items.length + " customers match; choose one.");
    list.querySelector("button").focus();
  }

  // --- timeline ----------------------------------------------------------------------------

  function selectedChannels() {
    return [...document.querySelectorAll("#filters input:checked")].map((box) => box.value);
  }

  function mode() {
    const checked = document.querySelector("#view-mode input:checked");
    return checked ? checked.value : "contacts";
  }

  /** The channels a timeline page asks for (in the contacts view, assisted ones only), or
      null when the filters leave none to ask for. */
  function pageChannels() {
    const chosen = selectedChannels();
    if (mode() === "all") return chosen;
    const assisted = chosen.length ? chosen.filter((c) => TL().ASSISTED.includes(c)) : TL().ASSISTED;
    return assisted.length ? assisted : null;
  }

  function wantsVisits() {
    const chosen = selectedChannels();
    return mode() === "contacts" && (!chosen.length || chosen.includes("web"));
  }

  /** The next page of visits, or null when the view changed meanwhile (`gen`). */
  async function fetchVisits(gen) {
    const page = await api(customerPath(state.customer, "/visits"), { until: state.visitsUntil });
    if (gen !== state.gen) return null;
    state.visitsUntil = page.next_until;
    state.visitsMore = Boolean(page.next_until);
    return page.items;
  }

  /** Up to `rounds` pages of visits, stopping once they reach back as far as the loaded
      contacts. */
  async function moreVisits(gen, rounds) {
    for (let i = 0; i < rounds && state.visitsMore && !(state.cursor && TL().pendingVisits); i++) {
      const items = await fetchVisits(gen);
      if (items === null) return;
      TL().addVisits(items);
    }
  }

  function updateOlder() {
    $("older").hidden = !state.cursor && !state.visitsMore && !TL().pendingVisits;
    $("timeline-empty").hidden = TL().count() > 0;
  }

  /** The first page of the view (`append` false: resets it), or the next older one. The
      first page is on screen before further visits are fetched in the background. */
  async function loadTimeline(append) {
    const channels = pageChannels();
    const customer = state.customer;
    if (!append) {
      state.gen += 1;
      TL().reset(mode());
      state.cursor = null;
      state.visitsUntil = null;
      state.visitsMore = wantsVisits();
    }
    const gen = state.gen;
    const params = { limit: PAGE_SIZE, channel: channels || [] };
    if (append && state.cursor) params.cursor = state.cursor;
    const none = { items: [], next_cursor: null };
    const [page, visits] = await Promise.all([
      channels && (!append || state.cursor) ? api(customerPath(customer, "/timeline"), params) : none,
      !append && state.visitsMore ? fetchVisits(gen) : [],
    ]);
    if (gen !== state.gen || customer !== state.customer) return;
    TL().addPage(page.items, Boolean(page.next_cursor));
    state.cursor = page.next_cursor;
    TL().addVisits(visits || []);
    updateOlder();
    // With older contacts to come, enough visits to reach back as far; with every contact
    // loaded, a page of visits at a time ("Show older").
    const rounds = state.cursor ? 3 : append ? 1 : 0;
    const more = moreVisits(gen, rounds).then(() => { if (gen === state.gen) updateOlder(); });
    if (append) await more;
    else more.catch((error) => setStatus(error.message, true));
  }

  // --- the open customer and its live stream ----------------------------------------------

  function setLive(name) {
    const live = $("live");
    live.dataset.state = name;
    live.textContent = name === "on" ? "Live" : name === "retrying" ? "Reconnecting…" : "Live updates off";
  }

  function follow(customerId) {
    if (state.stream) state.stream.stop();
    state.stream = T.follow(customerPath(customerId, "/stream"), onCustomerEvent,
      (s) => { if (s === "retrying") setLive("retrying"); });
  }

  function announce(text) {
    $("live-announce").textContent = text;
  }

  function onCustomerEvent(name, data) {
    const body = JSON.parse(data);
    if (name === "ready") setLive("on");
    else if (name === "timeline") onLiveItem(body);
    else if (name === "profile") onProfile(body);
    else if (name === "merged") onMergedAway(body.customer_id);
    else if (name === "gone") setStatus("This customer no longer exists.", true);
  }

  function onLiveItem(item) {
    const what = TL().live(item, selectedChannels());
    $("timeline-empty").hidden = TL().count() > 0;
    const label = CHANNEL_LABELS[item.channel] || item.channel;
    if (what === "updated") announce("Updated " + label + ": " + item.summary);
    else if (what === "earlier") announce("Earlier " + label + " added in time order: " + item.summary);
    else if (what) announce("New " + label + ": " + item.summary);
    if (state.call && state.call.event_id === item.event_id) showCall(item);
  }

  function onProfile(profile) {
    const previous = state.profile;
    state.profile = profile;
    if (previous && profile.customer_id === state.customer && !state.adminChanging) {
      const before = new Set(previous.merged_ids);
      const after = new Set(profile.merged_ids);
      const added = [...after].filter((id) => !before.has(id));
      const removed = [...before].filter((id) => !after.has(id));
      if (added.length || removed.length) {
        identityChanged(added, removed).catch((error) => setStatus(error.message, true));
        return;
      }
    }
    T.profile.renderProfile(profile);
  }

  async function identityChanged(added, removed) {
    const lineage = await api(customerPath(state.customer, "/links")).catch(() => null);
    const parts = [];
    if (added.length) {
      parts.push(added.map((id) => mergedLabel(lineage, id)).join(", ") +
        (added.length === 1 ? " was" : " were") + " merged into this profile");
    }
    if (removed.length) parts.push(removed.join(", ") + (removed.length === 1 ? " was" : " were") + " split off this profile");
    notice(parts.join("; ") + ". The view was reloaded.");
    await reloadView();
    if (state.lineageOpen) await loadLineage();
  }

  async function onMergedAway(survivor) {
    const old = state.customer;
    state.customer = survivor;
    state.profile = null;
    await reloadView();
    if (state.lineageOpen) await loadLineage();
    const name = state.profile ? T.profile.displayName(state.profile) || survivor : survivor;
    notice("This customer (" + old + ") was merged into " + name + " (" + survivor + "). The view shows the combined profile.");
  }

  async function reloadView() {
    const [profile] = await Promise.all([api(customerPath(state.customer)), loadTimeline(false)]);
    state.customer = profile.customer_id;
    state.profile = profile;
    T.profile.renderProfile(profile);
    setHash();
  }

  function setHash() {
    const hash = "#customer=" + encodeURIComponent(state.customer);
    if (window.location.search || window.location.hash !== hash) history.replaceState(null, "", "/" + hash);
  }

  async function openCustomer(customerId, options) {
    // A later open (the agent's search while a pop loads, or the reverse) supersedes this one:
    // its answers are dropped, so a profile is never shown with another customer's timeline.
    const opening = ++state.opening;
    if (state.stream) state.stream.stop();
    setLive("off");
    setStatus("Loading…");
    const focus = !(options && options.keepFocus);
    try {
      state.customer = customerId;
      const [profile] = await Promise.all([api(customerPath(customerId)), loadTimeline(false)]);
      if (opening !== state.opening) return false;
      state.customer = profile.customer_id;
      state.profile = profile;
      T.profile.renderProfile(profile);
      T.showSignals(state.customer, $("profile-signals"));
    } catch (error) {
      if (opening === state.opening) setStatus(error.message, true);
      return false;
    }
    $("results").hidden = true;
    $("view").hidden = false;
    $("notice").hidden = true;
    setStatus("");
    setHash();
    closeLineage();
    if (focus) $("profile-name").focus();
    follow(state.customer);
    return true;
  }

  // --- lineage and the admin's identity changes ----------------------------------------------

  function closeLineage() {
    state.lineageOpen = false;
    $("lineage-toggle").setAttribute("aria-expanded", "false");
    $("lineage").hidden = true;
  }

  async function loadLineage() {
    const lineage = await api(customerPath(state.customer, "/links"));
    const admin = T.session.me && T.session.me.role === "admin" ? { merge, unmerge } : null;
    T.profile.renderLineage(lineage, state.profile, admin);
    return lineage;
  }

  /** "Name (cus_…)" of a profile merged into this one, as the lineage names it. */
  function mergedLabel(lineage, id) {
    const m = lineage && lineage.merges.find((x) => x.merged_id === id);
    return m && m.merged_name ? m.merged_name + " (" + id + ")" : id;
  }

  async function auditEntry(action) {
    const page = await api("/v1/audit", { customer_id: state.customer, limit: 10 });
    return page.items.find((e) => e.action === action) || null;
  }

  async function adminChange(path, body, action, done) {
    let result;
    state.adminChanging = true;
    try {
      result = await api(customerPath(state.customer, path), {}, body);
      state.customer = result.customer_id;
      await reloadView();
    } catch (error) {
      notice("Not done: " + error.message);
      return;
    } finally {
      state.adminChanging = false;
    }
    const lineage = state.lineageOpen ? await loadLineage().catch(() => null) : null;
    const entry = await auditEntry(action).catch(() => null);
    const audit = entry ? " Audit: " + entry.action.replaceAll("_", " ") + " by " + entry.actor +
      " (" + entry.role + ") at " + new Date(entry.at).toLocaleString() + ", entry " + entry.id + "." : "";
    notice(done(result, lineage) + audit);
  }

  async function unmerge(m, name) {
    const ok = await T.profile.confirmAction("Split " + name + " off this profile?",
      name + " (" + m.merged_id + ") gets its own profile back with all its events, and the two " +
      "stay apart from now on. This is recorded in the audit log.", "Split off");
    if (ok) {
      await adminChange("/unmerge", { merged_id: m.merged_id }, "unmerge",
        (r) => name + " (" + r.other_id + ") was split off this profile.");
    }
  }

  async function merge(otherId) {
    const ok = await T.profile.confirmAction("Merge " + otherId + " into this profile?",
      "The two customers become one from now on (the older id survives). This is recorded in " +
      "the audit log.", "Merge");
    if (ok) {
      await adminChange("/merge", { other_id: otherId }, "manual_merge",
        (r, lineage) => mergedLabel(lineage, r.other_id) + " was merged into this profile (" +
          r.customer_id + ").");
    }
  }

  // --- screen pops -------------------------------------------------------------------------

  function seenPops() {
    try { return JSON.parse(sessionStorage.getItem(POPS_SEEN) || "[]"); } catch (e) { return []; }
  }

  function showCall(item) {
    const a = (item && item.attributes) || {};
    const ongoing = !item || item.kind === "call_in_progress";
    $("call-title").textContent = ongoing ? "Call in progress" : "Call ended";
    const caller = state.profile ? T.profile.displayName(state.profile) : null;
    const phone = state.profile && state.profile.identifiers.find((i) => i.type === "phone");
    const parts = [caller, phone ? phone.display || phone.value : null,
      a.queue ? "queue " + a.queue : null, a.contact_id ? "contact " + a.contact_id : null,
      ongoing ? null : "record received: " + item.summary];
    $("call-detail").textContent = parts.filter(Boolean).join(" · ");
    $("call").hidden = false;
  }

  async function onPop(pop) {
    const seen = seenPops();
    if (seen.includes(pop.pop_id)) return;
    sessionStorage.setItem(POPS_SEEN, JSON.stringify([...seen, pop.pop_id].slice(-50)));
    state.call = pop;
    if (!(await openCustomer(pop.customer_id, { keepFocus: true }))) return;
    const name = T.profile.displayName(state.profile) || "an unknown caller";
    showCall(TL().itemData(pop.event_id));
    $("pop-announce").textContent = "Incoming call: " + name + ". Profile open.";
    $("call-dismiss").focus();
  }

  function followPops() {
    if (state.agentStream) state.agentStream.stop();
    state.agentStream = T.follow("/v1/me/stream", (name, data) => {
      if (name === "pop") onPop(JSON.parse(data));
    });
  }

  // --- wiring ------------------------------------------------------------------------------

  async function started() {
    followPops();
    const query = new URLSearchParams(window.location.search).get("q");
    const match = window.location.hash.match(/^#customer=(.+)$/);
    if (query && query.trim()) {
      $("q").value = query.trim();
      await search(query.trim());
    } else if (match) {
      await openCustomer(decodeURIComponent(match[1]));
    } else {
      $("q").focus();
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const query = $("q").value.trim();
      if (query) search(query);
    });
    const reload = () => {
      if (state.customer) loadTimeline(false).catch((error) => setStatus(error.message, true));
    };
    $("filters").addEventListener("change", reload);
    $("view-mode").addEventListener("change", reload);
    $("older").addEventListener("click", () => {
      loadTimeline(true).catch((error) => setStatus(error.message, true));
    });
    $("lineage-toggle").addEventListener("click", async () => {
      if (state.lineageOpen) { closeLineage(); return; }
      state.lineageOpen = true;
      $("lineage-toggle").setAttribute("aria-expanded", "true");
      $("lineage").hidden = false;
      $("lineage").replaceChildren(el("p", { className: "hint", text: "Loading…" }));
      await loadLineage().catch((error) => setStatus(error.message, true));
    });
    $("notice-dismiss").addEventListener("click", () => { $("notice").hidden = true; });
    $("call-dismiss").addEventListener("click", () => {
      $("call").hidden = true;
      state.call = null;
    });
    $("confirm-cancel").addEventListener("click", () => $("confirm").close());
    document.addEventListener("keydown", (event) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
      if (event.key === "/" && !typing && !$("search-form").hidden) {
        event.preventDefault();
        $("q").focus();
        $("q").select();
      }
    });
    await T.start(started, signedOut);
  });
})();
