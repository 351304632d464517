/* Threadline console pages (agent console, insights): shared helpers and the API-key sign-in.
   The key lives in sessionStorage (this tab only) and travels in an Authorization header.
   Plain DOM, no dependencies; data is only ever inserted as text (never as HTML). */
"use strict";

window.Threadline = (function () {
  const KEY_STORE = "threadline.apiKey";
  const CHANNEL_LABELS = {
    web: "Web", chat: "Chat", email: "Email", call_centre: "Call centre",
    store: "Store", survey: "Survey",
  };
  const $ = (id) => document.getElementById(id);
  const session = { key: sessionStorage.getItem(KEY_STORE), onSignOut: null, me: null };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function icon(channel) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(ns, "use");
    use.setAttribute("href", document.body.dataset.icons + "#" + channel);
    svg.append(use);
    return svg;
  }

  function relative(iso) {
    const then = new Date(iso).getTime();
    const seconds = Math.round((Date.now() - then) / 1000);
    const units = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"], [4.35, "week"],
      [12, "month"], [Infinity, "year"]];
    const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    let value = -seconds;
    for (const [size, unit] of units) {
      if (Math.abs(value) < size) return format.format(Math.round(value), unit);
      value /= size;
    }
    return new Date(iso).toLocaleString();
  }

  function timeEl(iso) {
    return el("time", { datetime: iso, title: new Date(iso).toLocaleString(), text: relative(iso) });
  }

  function refreshTimes() {
    for (const node of document.querySelectorAll("time[datetime]")) {
      node.textContent = relative(node.getAttribute("datetime"));
    }
  }

  function setStatus(message, isError) {
    const status = $("status");
    status.textContent = message || "";
    status.classList.toggle("error", Boolean(isError));
  }

  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function authHeaders(accept) {
    return { Authorization: "Bearer " + session.key, Accept: accept || "application/json" };
  }

  /** GET `path` with `params` (arrays repeat the parameter); with `payload`, POST it as JSON. */
  async function api(path, params, payload) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      for (const item of [].concat(value)) {
        if (item !== null && item !== undefined && item !== "") url.searchParams.append(name, item);
      }
    }
    const init = { headers: authHeaders(), cache: "no-store" };
    if (payload !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const response = await fetch(url, init);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const error = (body && body.error) || { code: "http_error", message: "request failed" };
      if (response.status === 401) signOut("Your API key was not accepted: sign in again.");
      throw new ApiFailure(response.status, error.code, error.message);
    }
    return body;
  }

  // --- live streams: Server-Sent Events read with fetch, so the key stays in a header -----

  /** Parse the complete `\n\n`-separated blocks at the start of `buffer`; calls
      `onEvent(name, data, id)` for each with data; returns what is left (a partial block). */
  function parseEvents(buffer, onEvent) {
    let rest = buffer.replaceAll("\r\n", "\n");
    let split;
    while ((split = rest.indexOf("\n\n")) >= 0) {
      const block = rest.slice(0, split);
      rest = rest.slice(split + 2);
      let name = "message";
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (data.length) onEvent(name, data.join("\n"), id);
    }
    return rest;
  }

  /** Follow the stream at `path` until `stop()`: `onEvent(name, data)` per event, `onState`
      ("open", "retrying") as the connection comes and goes; reconnects with backoff,
      resuming after the last event id. Returns `{stop}`. */
  function follow(path, onEvent, onState) {
    const handle = { stopped: false, controller: null };
    handle.stop = () => {
      handle.stopped = true;
      if (handle.controller) handle.controller.abort();
    };
    (async () => {
      let lastEventId = null;
      let delay = 1000;
      while (!handle.stopped) {
        handle.controller = new AbortController();
        try {
          const headers = authHeaders("text/event-stream");
          if (lastEventId) headers["Last-Event-ID"] = lastEventId;
          const response = await fetch(path,
            { headers, signal: handle.controller.signal, cache: "no-store" });
          if (response.status === 401) {
            signOut("Your API key was not accepted: sign in again.");
            return;
          }
          if (!response.ok || !response.body) throw new Error("stream refused");
          if (onState) onState("open");
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          delay = 1000;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer = parseEvents(buffer + value, (name, data, id) => {
              if (id) lastEventId = id;
              if (!handle.stopped) onEvent(name, data);
            });
          }
        } catch (error) {
          if (handle.stopped) return;
        }
        if (handle.stopped) return;
        if (onState) onState("retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 30000);
      }
    })();
    return handle;
  }

  // --- sign in: elements marked data-signed-in show only while signed in ----------------

  function signedInParts() {
    return [$("who"), ...document.querySelectorAll("[data-signed-in]")];
  }

  function signOut(message) {
    session.key = null;
    session.me = null;
    sessionStorage.removeItem(KEY_STORE);
    if (session.onSignOut) session.onSignOut();
    for (const node of signedInParts()) node.hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
    $("api-key").value = "";
    $("api-key").focus();
  }

  async function signIn(key) {
    session.key = key;
    try {
      const me = await api("/v1/me");
      sessionStorage.setItem(KEY_STORE, key);
      $("sign-in").hidden = true;
      for (const node of signedInParts()) node.hidden = false;
      $("who-name").textContent = me.name + " (" + me.role + ")";
      session.me = me;
      return true;
    } catch (error) {
      if (error.status !== 401) signOut("Sign-in failed: " + error.message);
      return false;
    }
  }

  /** Wire sign-in and sign-out; `onSignIn(restored)` runs once signed in (restored: the key
      came from this tab's session, e.g. after following a link between pages). */
  async function start(onSignIn, onSignOut) {
    session.onSignOut = onSignOut || null;
    $("sign-in-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = $("api-key").value.trim();
      if (key && (await signIn(key))) await onSignIn(false);
    });
    $("sign-out").addEventListener("click", () => signOut("Signed out."));
    setInterval(refreshTimes, 30000);
    if (session.key && (await signIn(session.key))) await onSignIn(true);
    else signOut("");
  }

  return {
    CHANNEL_LABELS, $, el, icon, timeEl, relative, setStatus, api, authHeaders, signOut, start,
    session, follow, parseEvents,
  };
})();
