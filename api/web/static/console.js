/* Threadline agent console: search, profile (with its moments-of-truth badge), timeline,
   live updates. Sign-in and helpers are in shared.js; data is only ever inserted as text. */
"use strict";

(function () {
  const T = window.Threadline;
  const { $, el, icon, timeEl, setStatus, api, CHANNEL_LABELS } = T;
  const PAGE_SIZE = 30;
  const state = {
    customer: null,
    cursor: null,
    stream: null,
    streamId: 0,
    seen: new Set(),
  };

  function signedOut() {
    closeStream();
    state.customer = null;
    $("results").hidden = true;
    $("view").hidden = true;
  }

  // --- search ----------------------------------------------------------------------------

  async function search(query) {
    setStatus("Searching…");
    let results;
    try {
      results = await api("/v1/search", { q: query, limit: 10 });
    } catch (error) {
      setStatus(error.message, true);
      return;
    }
    const items = results.items;
    if (items.length === 0) {
      $("results").hidden = true;
      setStatus("No customer matches that.", true);
      return;
    }
    const exact = items.filter((hit) => hit.match.how === "exact");
    if (items.length === 1 || exact.length === 1) {
      await openCustomer((exact[0] || items[0]).customer_id);
      return;
    }
    renderResults(items);
  }

  function renderResults(items) {
    const list = $("result-list");
    list.replaceChildren();
    for (const hit of items) {
      const ids = hit.identifiers.map((i) => i.value).join(" · ");
      const button = el("button", { type: "button", className: "result" },
        el("span", { className: "result-name", text: hit.name || hit.customer_id }),
        el("span", { className: "hint", text: ids }),
        el("span", { className: "hint", text: "matched " + hit.match.field.replace("_", " ") }));
      button.addEventListener("click", () => openCustomer(hit.customer_id));
      list.append(el("li", {}, button));
    }
    $("view").hidden = true;
    $("results").hidden = false;
    setStatus(items.length + " customers match; choose one.");
    list.querySelector("button").focus();
  }

  // --- profile ---------------------------------------------------------------------------

  function section(title, ...content) {
    return el("section", { className: "facts" }, el("h2", { text: title }), ...content);
  }

  function contactLine(contact) {
    return el("p", {}, icon(contact.channel), " ", el("span", { text: contact.summary }), " ",
      el("span", { className: "hint" }, timeEl(contact.occurred_at)));
  }

  function renderProfile(profile) {
    const traits = profile.traits || {};
    const name = traits.name || [traits.first_name, traits.last_name].filter(Boolean).join(" ");
    $("profile-name").textContent = name || "Unnamed customer";
    const body = $("profile-body");
    body.replaceChildren();
    const summary = profile.summary;
    const glance = [];
    if (summary && summary.open_threads.length) {
      glance.push(section("Waiting for a reply", el("ul", { className: "plain" },
        ...summary.open_threads.map((t) => el("li", { className: "open-thread" },
          icon(t.channel), " ", el("span", { text: t.summary }), " ",
          el("span", { className: "hint" }, "waiting since ", timeEl(t.waiting_since)))))));
    }
    if (summary && summary.last_contact) {
      glance.push(section("Last contact", contactLine(summary.last_contact)));
    }
    if (summary && summary.latest_order) {
      const order = summary.latest_order;
      const total = order.total ? " · " + order.total + " " + (order.currency || "") : "";
      glance.push(section("Latest order", contactLine(order),
        el("p", { className: "hint", text: (order.order || "") + total })));
    }
    if (summary && summary.latest_score) {
      const score = summary.latest_score;
      const scale = score.scale_max ? " / " + score.scale_max : "";
      glance.push(section("Latest survey",
        el("p", { text: score.metric.toUpperCase() + " " + score.score + scale + " " },
          el("span", { className: "hint" }, timeEl(score.at)))));
    }
    if (summary) {
      const recent = summary.recent;
      const parts = Object.entries(recent.by_channel)
        .map(([channel, n]) => (CHANNEL_LABELS[channel] || channel) + " " + n);
      const text = recent.total === 0 ? "None" :
        recent.total + (recent.capped ? "+" : "") + " (" + parts.join(", ") + ")";
      glance.push(section("Last " + recent.days + " days", el("p", { text })));
    }
    const order = ["email", "phone", "user_id", "loyalty_id", "order_id"];
    const rank = (i) => (order.includes(i.type) ? order.indexOf(i.type) : order.length);
    const sorted = [...profile.identifiers].sort((a, b) => rank(a) - rank(b));
    const ids = el("ul", { className: "plain identifiers" },
      ...sorted.map((i) => el("li", {},
        el("span", { className: "id-type", text: i.type.replace("_", " ") }), " ",
        el("span", { className: "id-value", text: i.value }))));
    const channels = el("ul", { className: "plain channels" },
      ...Object.entries(profile.channels).map(([channel, stats]) => el("li", {},
        icon(channel), " ", (CHANNEL_LABELS[channel] || channel) + ": " + stats.count + ", last ",
        stats.last_at ? timeEl(stats.last_at) : "never")));
    body.append(el("div", { className: "glance" }, ...glance),
      section("Identifiers", ids), section("Channels", channels));
    if (profile.merged_ids.length) {
      body.append(section("Merged profiles",
        el("p", { className: "hint", text: profile.merged_ids.join(", ") })));
    }
  }

  // --- timeline --------------------------------------------------------------------------

  function selectedChannels() {
    return [...document.querySelectorAll("#filters input:checked")].map((box) => box.value);
  }

  function attributeList(attributes) {
    const list = el("dl", { className: "attributes" });
    for (const [name, value] of Object.entries(attributes)) {
      const shown = typeof value === "object" ? JSON.stringify(value, null, 1) : String(value);
      list.append(el("dt", { text: name.replaceAll("_", " ") }),
        el("dd", { text: shown.length > 600 ? shown.slice(0, 600) + "…" : shown }));
    }
    return list;
  }

  function itemNode(item, isNew) {
    const label = CHANNEL_LABELS[item.channel] || item.channel;
    return el("li", { className: "item channel-" + item.channel + (isNew ? " new" : ""),
      "data-event-id": item.event_id },
      icon(item.channel),
      el("details", {},
        el("summary", {},
          el("span", { className: "item-summary", text: item.summary }),
          el("span", { className: "item-meta" }, label + " · " + item.kind.replaceAll("_", " ") + " · ",
            timeEl(item.occurred_at))),
        el("p", { className: "hint", text: "Source: " + item.source }),
        attributeList(item.attributes)));
  }

  async function loadTimeline(append) {
    const params = { limit: PAGE_SIZE, channel: selectedChannels() };
    if (append && state.cursor) params.cursor = state.cursor;
    const page = await api("/v1/customers/" + encodeURIComponent(state.customer) + "/timeline",
      params);
    const list = $("timeline");
    if (!append) {
      list.replaceChildren();
      state.seen.clear();
    }
    for (const item of page.items) {
      if (state.seen.has(item.event_id)) continue;
      state.seen.add(item.event_id);
      list.append(itemNode(item, false));
    }
    state.cursor = page.next_cursor;
    $("older").hidden = !state.cursor;
    $("timeline-empty").hidden = list.children.length > 0;
  }

  function addLiveItem(item) {
    const channels = selectedChannels();
    if (state.seen.has(item.event_id)) return;
    if (channels.length && !channels.includes(item.channel)) return;
    state.seen.add(item.event_id);
    $("timeline").prepend(itemNode(item, true));
    $("timeline-empty").hidden = true;
    $("live-announce").textContent = "New " + (CHANNEL_LABELS[item.channel] || item.channel) +
      ": " + item.summary;
  }

  // --- live stream (fetch-based, so the key travels in a header, never in the URL) -------

  function setLive(stateName, text) {
    const live = $("live");
    live.dataset.state = stateName;
    live.textContent = text;
  }

  function closeStream() {
    state.streamId += 1;
    if (state.stream) state.stream.abort();
    state.stream = null;
    setLive("off", "Live updates off");
  }

  function handleEvent(name, data) {
    if (name === "timeline") addLiveItem(JSON.parse(data));
    else if (name === "profile") renderProfile(JSON.parse(data));
    else if (name === "merged") state.customer = JSON.parse(data).customer_id;
    else if (name === "ready") setLive("on", "Live");
    else if (name === "gone") setStatus("This customer no longer exists.", true);
  }

  async function runStream(id, customer) {
    let lastEventId = null;
    let delay = 1000;
    while (state.streamId === id) {
      const controller = new AbortController();
      state.stream = controller;
      try {
        const headers = T.authHeaders("text/event-stream");
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch("/v1/customers/" + encodeURIComponent(customer) + "/stream",
          { headers, signal: controller.signal, cache: "no-store" });
        if (response.status === 401) { T.signOut("Your API key was not accepted: sign in again."); return; }
        if (!response.ok || !response.body) throw new Error("stream refused");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        delay = 1000;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replaceAll("\r\n", "\n");
          let split;
          while ((split = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, split);
            buffer = buffer.slice(split + 2);
            let name = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const fieldValue = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "event") name = fieldValue;
              else if (field === "data") data.push(fieldValue);
              else if (field === "id") lastEventId = fieldValue;
            }
            if (data.length && state.streamId === id) handleEvent(name, data.join("\n"));
          }
        }
      } catch (error) {
        if (state.streamId !== id) return;
      }
      if (state.streamId !== id) return;
      setLive("retrying", "Reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  // --- opening a customer ----------------------------------------------------------------

  async function openCustomer(customerId) {
    closeStream();
    setStatus("Loading…");
    try {
      // Search answers canonical ids, so the profile and the first page load side by side.
      state.customer = customerId;
      state.cursor = null;
      const [profile] = await Promise.all([
        api("/v1/customers/" + encodeURIComponent(customerId)),
        loadTimeline(false),
      ]);
      state.customer = profile.customer_id;
      renderProfile(profile);
      T.showSignals(state.customer, $("profile-signals"));
    } catch (error) {
      setStatus(error.message, true);
      return;
    }
    $("results").hidden = true;
    $("view").hidden = false;
    setStatus("");
    if (window.location.hash !== "#customer=" + state.customer) {
      history.replaceState(null, "", "#customer=" + encodeURIComponent(state.customer));
    }
    $("profile-name").focus();
    runStream(state.streamId, state.customer);
  }

  // --- wiring ----------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", async () => {
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const query = $("q").value.trim();
      if (query) search(query);
    });
    $("filters").addEventListener("change", () => {
      if (!state.customer) return;
      state.cursor = null;
      loadTimeline(false).catch((error) => setStatus(error.message, true));
    });
    $("older").addEventListener("click", () => {
      loadTimeline(true).catch((error) => setStatus(error.message, true));
    });
    document.addEventListener("keydown", (event) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
      if (event.key === "/" && !typing && !$("search-form").hidden) {
        event.preventDefault();
        $("q").focus();
        $("q").select();
      }
    });
    await T.start(async () => {
      const match = window.location.hash.match(/^#customer=(.+)$/);
      if (match) await openCustomer(decodeURIComponent(match[1]));
      else $("q").focus();
    }, signedOut);
  });
})();
