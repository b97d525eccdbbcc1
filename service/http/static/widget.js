/*
 * Newsdesk widget: ask the news archive, read answers whose citations quote the source.
 *
 * Embed anywhere with
 *   <script src="https://HOST/widget.js" data-newsdesk-url="https://HOST"></script>
 * (data-mode="page" renders full-page and open, as on the service's own "/").
 *
 * Everything lives in an open shadow root, so host-page CSS cannot reach it. Server and
 * reader data only ever become text nodes or plain attributes: no innerHTML anywhere,
 * and no inline styles (the service's pages forbid them by CSP).
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const BASE = baseUrl(script);
  const PAGE_MODE = script?.dataset.mode === "page";
  const HOST_ID = "newsdesk-widget";
  const MAX_QUESTION = 2000;
  const NETWORK_ERROR = "Could not reach the news archive: the network failed, or this site is not allowed to use it.";
  let lastId = 0;

  /** The service's base URL: the data attribute, else the origin the script came from. */
  function baseUrl(el) {
    const configured = el?.dataset.newsdeskUrl;
    if (configured) return configured.replace(/\/+$/, "");
    return el?.src ? new URL(el.src, location.href).origin : location.origin;
  }

  function nextId(prefix) {
    lastId += 1;
    return `nd-${prefix}-${lastId}`;
  }

  /** Builds an element; strings among the children become text nodes, never markup. */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child != null && child !== false && child !== "") node.append(child);
    }
    return node;
  }

  /** The date part of an ISO timestamp: unambiguous, and no time-zone shift. */
  function day(iso) {
    if (!iso) return null;
    const text = String(iso);
    return /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : text;
  }

  function sourceLine(item) {
    return `${item.publisher || "Unknown publisher"} · ${day(item.published_at) || "undated"}`;
  }

  /** Only http(s) links are shown: a javascript: or data: URL from an article is never clickable. */
  function safeUrl(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  class ApiError extends Error {}

  /** The message of a JSON error response, or a plain description of the status. */
  async function responseError(response) {
    try {
      const body = await response.json();
      if (body?.error?.message) return new ApiError(body.error.message);
    } catch {
      // not JSON: fall through to the status line
    }
    return new ApiError(`The archive answered with HTTP ${response.status}.`);
  }

  async function getJson(url, options = {}) {
    let response;
    try {
      response = await fetch(url, { credentials: "omit", ...options });
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      throw new ApiError(NETWORK_ERROR);
    }
    if (!response.ok) throw await responseError(response);
    return response;
  }

  /** One server-sent event block ("event: x\ndata: {...}") as {name, data}; null if it has no data. */
  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { name, data: JSON.parse(data.join("\n")) };
    } catch {
      throw new ApiError("The archive sent a reply the widget could not read.");
    }
  }

  /** Server-sent events from a fetch body (EventSource cannot POST). */
  async function* readEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer = (buffer + decoder.decode(value, { stream: !done })).replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event) yield event;
        }
        if (done) return;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /** One question and its answer in the transcript. */
  class Turn {
    constructor(widget, question) {
      this.widget = widget;
      this.question = question;
      this.short = h("p", { class: "nd-short", hidden: true });
      this.text = h("p", { class: "nd-text" });
      this.tips = h("div", { class: "nd-tips" });
      this.searched = h("p", { class: "nd-searched", hidden: true });
      this.extras = h("div", { class: "nd-extras" });
      this.answer = h("div", { class: "nd-a" }, this.searched, this.short, this.text, this.tips, this.extras);
      this.el = h("article", { class: "nd-turn", "data-state": "idle" },
        h("p", { class: "nd-q" }, h("span", { class: "nd-sr" }, "You asked: "), question),
        this.answer);
    }

    /** Clears the answer before a (re)try. */
    start() {
      this.citations = new Map();
      this.streamed = "";
      this.unresolved = false;
      this.short.replaceChildren();
      this.short.hidden = true;
      this.text.replaceChildren();
      this.tips.replaceChildren();
      this.extras.replaceChildren(h("p", { class: "nd-pending" }, "Searching the archive…"));
      this.searched.hidden = true;
      this.answer.className = "nd-a";
      this.el.dataset.state = "streaming";
    }

    showSearched(standalone) {
      const same = !standalone || standalone.trim().toLowerCase() === this.question.trim().toLowerCase();
      this.searched.replaceChildren(`Searched for: ${standalone}`);
      this.searched.hidden = same;
    }

    addCitation(citation) {
      this.citations.set(citation.n, citation);
    }

    appendParts(parts) {
      this.streamed += parts.map((part) => part.text).join("");
      this.render(parts);
    }

    /**
     * Chips come only from the server's own markers (parts with ``n``); all else is text, so a "[2]" or "SYSTEM:"
     * inside a quoted sentence is shown as the article wrote it and never opens anything.
     */
    render(parts) {
      this.text.append(...parts.filter((part) => part.text !== "")
        .map((part) => (part.n == null ? part.text : this.marker(part.n, part.text))));
      this.widget.followLog();
    }

    marker(n, raw) {
      const citation = this.citations.get(n);
      if (!citation) {
        this.unresolved = true;
        return raw;
      }
      const { button, tip } = this.widget.chip(citation);
      this.tips.append(tip);
      return button;
    }

    /** The final answer object: re-renders only if the stream and the answer disagree. */
    finish(result) {
      if (result.query) this.showSearched(result.query);
      for (const citation of result.citations || []) {
        if (!this.citations.has(citation.n)) this.addCitation(citation);
      }
      const answer = result.answer || "";
      if (this.streamed !== answer || this.unresolved) {
        this.text.replaceChildren();
        this.tips.replaceChildren();
        this.unresolved = false;
        this.render(result.answer_parts || [{ text: answer }]);
      }
      this.showShortAnswer(result.short_answer);
      this.extras.replaceChildren();
      if (result.abstained) this.answer.classList.add("nd-abstained");
      this.showSources(result.sources || [], result.abstained);
      this.showWarnings(result.warnings || []);
      this.el.dataset.state = "done";
      this.widget.followLog();
    }

    /** The few words that answer a factoid question, first, with the chip of the citation they lie in. */
    showShortAnswer(short) {
      if (!short) return;
      this.short.replaceChildren(h("span", { class: "nd-sr" }, "Short answer: "),
        h("strong", { class: "nd-short-text" }, short.text), this.marker(short.n, `[${short.n}]`));
      this.short.hidden = false;
    }

    /** The stories beside the answer (the closest ones when it abstains), each by its quoted sentence. */
    showSources(sources, abstained) {
      if (!sources.length) return;
      const labelId = nextId("sources");
      const cards = sources.map((source) => {
        const titleId = nextId("source-title");
        return h("li", { class: "nd-source" },
          h("p", { class: "nd-source-title", id: titleId }, source.title || source.article_id),
          h("p", { class: "nd-source-meta" }, sourceLine(source)),
          h("blockquote", { class: "nd-source-quote" }, source.quote),
          h("button", {
            type: "button", class: "nd-source-open", "aria-describedby": titleId,
            onclick: (event) => this.widget.audit.open({
              articleId: source.article_id, start: source.start, end: source.end, opener: event.currentTarget,
            }),
          }, "Show in the article"));
      });
      this.extras.append(h("p", { class: "nd-sources-label", id: labelId }, abstained ? "Closest stories in the archive:" : "Sources:"),
        h("ul", { class: "nd-sources", "aria-labelledby": labelId }, cards));
    }

    showWarnings(warnings) {
      if (!warnings.length) return;
      this.extras.append(h("ul", { class: "nd-warnings", "aria-label": "Notes" },
        warnings.map((warning) => h("li", {}, warning))));
    }

    fail(message, retry) {
      this.el.dataset.state = "error";
      this.extras.replaceChildren(h("div", { class: "nd-error" },
        h("p", { class: "nd-error-text" }, message),
        h("button", { type: "button", class: "nd-retry", onclick: retry }, "Retry")));
      this.widget.followLog();
    }
  }

  /** Citation chips and their tooltips (shown on hover and on keyboard focus). */
  class Tooltips {
    constructor() {
      this.current = null;
    }

    /** A chip for ``citation``; ``onOpen(button)`` opens the audit view. */
    chip(citation, onOpen) {
      const tipId = nextId("tip");
      const tip = h("span", { class: "nd-tip", role: "tooltip", id: tipId, hidden: true },
        h("span", { class: "nd-tip-source" }, citation.label),
        h("span", { class: "nd-tip-quote" }, citation.quote || ""));
      const button = h("button", {
        type: "button", class: "nd-chip", "data-n": citation.n,
        "aria-label": `Source ${citation.n}`, "aria-describedby": tipId,
        onclick: (event) => onOpen(event.currentTarget),
      }, String(citation.n));
      const state = { hover: false, focus: false };
      const update = () => (state.hover || state.focus ? this.show(button, tip) : this.hide(tip));
      button.addEventListener("mouseenter", () => { state.hover = true; update(); });
      button.addEventListener("mouseleave", () => { state.hover = false; update(); });
      button.addEventListener("focus", () => { state.focus = true; update(); });
      button.addEventListener("blur", () => { state.focus = false; update(); });
      button.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && !tip.hidden) {
          event.stopPropagation();
          this.hide(tip);
        }
      });
      return { button, tip };
    }

    /** Fixed-positioned next to the chip, so no scrolling container clips it. */
    show(button, tip) {
      if (this.current && this.current.tip !== tip) this.hide(this.current.tip);
      this.current = { button, tip };
      tip.hidden = false;
      const chip = button.getBoundingClientRect();
      const width = document.documentElement.clientWidth;
      const left = Math.max(8, Math.min(chip.left + chip.width / 2 - tip.offsetWidth / 2, width - tip.offsetWidth - 8));
      const above = chip.top - tip.offsetHeight - 8;
      tip.style.left = `${left}px`;
      tip.style.top = `${above >= 8 ? above : chip.bottom + 8}px`;
    }

    hide(tip) {
      tip.hidden = true;
      if (this.current?.tip === tip) this.current = null;
    }

    hideCurrent() {
      if (this.current) this.hide(this.current.tip);
    }

    /** Follows the chip when the transcript scrolls. */
    reposition() {
      if (this.current) this.show(this.current.button, this.current.tip);
    }
  }

  /**
   * ``segments`` cut again where boilerplate spans begin and end; pieces inside one carry its ``reason``.
   * The server's offsets count code points, JS strings UTF-16 units (an emoji is one and two of them): each
   * segment is cut as its array of code points, never with String.slice.
   */
  function withRemoved(segments, removed) {
    const pieces = [];
    for (const segment of segments) {
      const chars = Array.from(segment.text);
      const cuts = new Set([segment.start, segment.end]);
      for (const span of removed) {
        for (const at of [span.start, span.end]) if (at > segment.start && at < segment.end) cuts.add(at);
      }
      const sorted = [...cuts].sort((a, b) => a - b);
      for (let i = 0; i + 1 < sorted.length; i += 1) {
        const [from, to] = [sorted[i], sorted[i + 1]];
        const span = removed.find((r) => r.start <= from && to <= r.end);
        pieces.push({ text: chars.slice(from - segment.start, to - segment.start).join(""), highlighted: segment.highlighted,
          reason: span ? span.reason : null });
      }
    }
    return pieces;
  }

  /** The audit view: the whole original article, the cited words marked. */
  class Audit {
    constructor() {
      this.opener = null;
      this.request = null;
      this.titleId = nextId("audit-title");
      this.title = h("h2", { class: "nd-audit-title", id: this.titleId });
      this.meta = h("p", { class: "nd-audit-meta" });
      this.note = h("p", { class: "nd-audit-note" });
      this.body = h("div", { class: "nd-article", tabindex: "0", "aria-label": "Article text" });
      this.copies = h("div", { class: "nd-copies" });
      this.closeButton = h("button", { type: "button", class: "nd-audit-close", onclick: () => this.close() }, "Close");
      this.el = h("dialog", { class: "nd-audit", role: "dialog", "aria-modal": "true", "aria-labelledby": this.titleId },
        h("header", { class: "nd-audit-head" },
          h("div", { class: "nd-audit-heading" }, this.title, this.meta),
          this.closeButton),
        this.note, this.body, this.copies);
      this.el.addEventListener("close", () => this.onClosed());
      this.el.addEventListener("click", (event) => { if (event.target === this.el) this.close(); });
    }

    /** Opens ``articleId``, marking start-end when given; focus returns to ``opener`` on close. */
    async open({ articleId, start = null, end = null, opener }) {
      this.opener = opener || this.opener;
      this.request?.abort();
      const request = new AbortController();
      this.request = request;
      this.showLoading(articleId, start != null);
      if (!this.el.open) this.el.showModal();
      this.closeButton.focus();
      const query = start != null ? `?highlight=${start}-${end}` : "";
      try {
        const response = await getJson(`${BASE}/articles/${encodeURIComponent(articleId)}${query}`, { signal: request.signal });
        const article = await response.json();
        if (this.request === request) this.render(article, start != null);
      } catch (err) {
        if (this.request === request && err?.name !== "AbortError") {
          this.body.replaceChildren(h("p", { class: "nd-error-text" }, err instanceof ApiError ? err.message : NETWORK_ERROR));
        }
      }
    }

    showLoading(articleId, cited) {
      this.title.replaceChildren(articleId);
      this.meta.replaceChildren();
      this.note.replaceChildren(cited ? "The quoted words are highlighted." : "No passage was cited from this article.");
      this.body.replaceChildren(h("p", { class: "nd-pending" }, "Loading the article…"));
      this.copies.replaceChildren();
    }

    render(article, cited) {
      this.title.replaceChildren(article.title || "Untitled article");
      const url = safeUrl(article.url);
      this.meta.replaceChildren(`${sourceLine(article)} · id ${article.id}`,
        url ? h("a", { class: "nd-audit-link", href: url, target: "_blank", rel: "noopener noreferrer" }, url) : "");
      const segments = article.segments || [{ start: 0, end: Array.from(article.text || "").length, text: article.text || "" }];
      this.body.replaceChildren(...withRemoved(segments, article.removed || []).map((piece) => {
        if (piece.highlighted) return h("mark", { class: "nd-mark" }, piece.text);
        if (piece.reason) return h("span", { class: "nd-removed", title: `Not indexed: ${piece.reason}` }, piece.text);
        return document.createTextNode(piece.text);
      }));
      if ((article.removed || []).length) {
        this.note.append(" Greyed text was removed as site furniture before indexing and is never quoted.");
      }
      this.renderCopies(article.copies || []);
      const mark = this.body.querySelector("mark");
      if (mark) mark.scrollIntoView({ block: "center" });
      else if (cited) this.note.replaceChildren("The quoted words could not be found in this article.");
    }

    renderCopies(copies) {
      if (!copies.length) return;
      this.copies.replaceChildren(
        h("p", { class: "nd-copies-label" }, "Near-duplicate copies of this story:"),
        h("ul", {}, copies.map((id) => h("li", {},
          h("button", { type: "button", class: "nd-copy", onclick: () => this.open({ articleId: id }) }, id)))));
    }

    close() {
      if (this.el.open) this.el.close();
    }

    /** However it closed (button, Escape, backdrop): stop loading and give focus back. */
    onClosed() {
      this.request?.abort();
      const opener = this.opener;
      this.opener = null;
      if (opener?.isConnected) opener.focus();
    }
  }

  /** The launcher, chat panel and transcript; one per page. */
  class Widget {
    constructor(shadow) {
      this.conversationId = null;
      this.controller = null;
      this.tooltips = new Tooltips();
      this.audit = new Audit();
      this.build();
      shadow.append(h("link", { rel: "stylesheet", href: `${BASE}/widget.css`, onload: this.reveal, onerror: this.reveal }), this.root);
    }

    /** Shows the widget once its stylesheet has loaded (or failed to), never unstyled. */
    reveal = () => {
      this.root.hidden = false;
      if (PAGE_MODE) this.input.focus();
    };

    build() {
      const panelId = nextId("panel");
      const inputId = nextId("input");
      const hintId = nextId("hint");
      this.intro = h("p", { class: "nd-intro" },
        "Ask about the news in the archive. Every answer quotes its sources: select a number to read the original article.");
      this.log = h("div", { class: "nd-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
      this.scroller = h("div", { class: "nd-scroll" }, this.intro, this.log);
      this.pinned = true;
      this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
      this.input = h("textarea", {
        id: inputId, class: "nd-input", rows: "1", maxlength: MAX_QUESTION, "aria-describedby": hintId,
        placeholder: "Ask the archive…", autocomplete: "off",
      });
      this.input.addEventListener("keydown", (event) => this.onInputKey(event));
      this.input.addEventListener("input", () => this.fitInput());
      this.send = h("button", { type: "submit", class: "nd-send" }, "Ask");
      this.form = h("form", { class: "nd-form", onsubmit: (event) => this.onSubmit(event) },
        h("label", { class: "nd-sr", for: inputId }, "Your question"),
        this.input, this.send,
        h("p", { class: "nd-hint", id: hintId }, "Enter to ask, Shift+Enter for a new line."));
      this.panel = h("section", { class: "nd-panel", id: panelId, "aria-label": "Ask the news archive", hidden: !PAGE_MODE },
        this.header(), this.scroller, this.form);
      this.panel.addEventListener("keydown", (event) => this.onPanelKey(event));
      this.launcher = PAGE_MODE ? null : h("button", {
        type: "button", class: "nd-launcher", "aria-expanded": "false", "aria-controls": panelId, onclick: () => this.openPanel(),
      }, "Ask the archive");
      this.root = h("div", { class: `nd-root ${PAGE_MODE ? "nd-page" : "nd-embedded"}`, lang: "en", hidden: true },
        this.launcher, this.panel, this.audit.el);
    }

    header() {
      const heading = h(PAGE_MODE ? "h1" : "h2", { class: "nd-title" }, PAGE_MODE ? "Newsdesk" : "Ask the archive");
      const actions = h("div", { class: "nd-actions" },
        h("button", { type: "button", class: "nd-new", onclick: () => this.newConversation() }, "New conversation"),
        PAGE_MODE ? null : h("button", { type: "button", class: "nd-close", "aria-label": "Close chat", onclick: () => this.closePanel() }, "×"));
      return h("header", { class: "nd-head" },
        h("div", { class: "nd-heading" }, heading, h("p", { class: "nd-tagline" }, "Answers quote the archive's own words.")),
        actions);
    }

    chip(citation) {
      const open = (button) => this.audit.open({ articleId: citation.article_id, start: citation.start, end: citation.end, opener: button });
      return this.tooltips.chip(citation, open);
    }

    openPanel() {
      this.panel.hidden = false;
      this.launcher.hidden = true;
      this.launcher.setAttribute("aria-expanded", "true");
      this.input.focus();
    }

    closePanel() {
      this.panel.hidden = true;
      this.launcher.hidden = false;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }

    onPanelKey(event) {
      if (event.key === "Escape" && !PAGE_MODE) this.closePanel();
    }

    onInputKey(event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    }

    /** Grows the textarea with its text, up to the height the stylesheet allows. */
    fitInput() {
      this.input.style.height = "auto";
      this.input.style.height = `${this.input.scrollHeight + 2}px`;
    }

    onSubmit(event) {
      event.preventDefault();
      const question = this.input.value.trim();
      if (!question || this.controller) return;
      this.input.value = "";
      this.fitInput();
      const turn = new Turn(this, question);
      this.intro.hidden = true;
      this.log.append(turn.el);
      this.pinned = true;
      this.ask(turn);
    }

    /** Streams the answer to ``turn``; any failure becomes a message with a Retry button. */
    async ask(turn) {
      const controller = new AbortController();
      this.controller = controller;
      this.setBusy(true);
      turn.start();
      this.followLog();
      try {
        const response = await getJson(`${BASE}/ask/stream`, {
          method: "POST", signal: controller.signal,
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify({
            question: turn.question, as_of: new Date().toISOString(), // "last week" is the reader's last week
            ...(this.conversationId ? { conversation_id: this.conversationId } : {}),
          }),
        });
        await this.consume(response, turn, controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) turn.fail(err instanceof ApiError ? err.message : NETWORK_ERROR, () => this.retry(turn));
      } finally {
        if (this.controller === controller) {
          this.controller = null;
          this.setBusy(false);
        }
      }
    }

    retry(turn) {
      if (!this.controller) this.ask(turn);
    }

    async consume(response, turn, signal) {
      if (!(response.headers.get("Content-Type") || "").includes("text/event-stream")) {
        this.finish(turn, await response.json());
        return;
      }
      for await (const event of readEvents(response.body)) {
        if (signal.aborted) return;
        this.handle(turn, event);
      }
      if (turn.el.dataset.state !== "done") throw new ApiError("The answer stopped before it was complete.");
    }

    handle(turn, { name, data }) {
      if (name === "meta") {
        this.conversationId = data.conversation_id || this.conversationId;
        turn.showSearched(data.question ?? data.query);
      } else if (name === "citation") {
        turn.addCitation(data);
      } else if (name === "text") {
        turn.appendParts(data.parts || []);
      } else if (name === "done") {
        this.finish(turn, data);
      } else if (name === "error") {
        throw new ApiError(data?.error?.message || "The archive could not answer.");
      }
    }

    finish(turn, result) {
      this.conversationId = result.conversation_id || this.conversationId;
      turn.finish(result);
    }

    setBusy(busy) {
      this.send.disabled = busy;
      this.log.setAttribute("aria-busy", String(busy));
    }

    newConversation() {
      this.controller?.abort();
      this.controller = null;
      this.setBusy(false);
      this.conversationId = null;
      this.tooltips.hideCurrent();
      this.log.replaceChildren();
      this.intro.hidden = false;
      this.input.focus();
    }

    onScroll() {
      const box = this.scroller;
      this.pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      this.tooltips.reposition();
    }

    /** Keeps the newest text in view unless the reader has scrolled up to read. */
    followLog() {
      if (this.pinned) this.scroller.scrollTop = this.scroller.scrollHeight;
    }
  }

  function mount() {
    if (document.getElementById(HOST_ID)) return;
    const host = document.createElement("newsdesk-chat");
    host.id = HOST_ID;
    new Widget(host.attachShadow({ mode: "open" }));
    document.body.append(host);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
