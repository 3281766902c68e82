// The search page. Every piece of article text goes into the DOM as a text node
// (textContent / createTextNode), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
let currentHits = [];
let articleRequest = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function safeUrl(value) {
  // Only web links: a "javascript:" URL in an article would otherwise run on click.
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text || "";
  status.classList.toggle("error", Boolean(isError));
}

function day(iso) {
  return iso ? iso.slice(0, 10) : "日期不详";
}

// Text with [start, end) wrapped in <mark>. The API's offsets count code points (Python
// strings) while JS strings count UTF-16 units, so slice by code point.
function markedText(container, text, start, end, markId) {
  container.textContent = "";
  if (start === null || start === undefined || end <= start) {
    container.appendChild(document.createTextNode(text));
    return null;
  }
  const chars = Array.from(text);
  const mark = el("mark", null, chars.slice(start, end).join(""));
  if (markId) mark.id = markId;
  container.appendChild(document.createTextNode(chars.slice(0, start).join("")));
  container.appendChild(mark);
  container.appendChild(document.createTextNode(chars.slice(end).join("")));
  return mark;
}

function metaLine(target, item, withDate = true) {
  target.textContent = "";
  const parts = withDate ? [day(item.published)] : [];
  parts.push(item.source || "来源不详");
  if (item.author) parts.push(item.author);
  target.appendChild(document.createTextNode(parts.join(" · ")));
  const href = safeUrl(item.url);
  if (href) {
    const link = el("a", null, "原文链接");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.addEventListener("click", (event) => event.stopPropagation());
    target.appendChild(link);
  }
}

// A list item that opens the article at ``target``'s start/end on a click, Enter or Space.
function opensArticle(item, target) {
  const open = () => openArticle(target, item);
  item.addEventListener("click", open);
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open();
    }
  });
}

function renderPassages(hits) {
  const list = $("passages");
  list.textContent = "";
  hits.forEach((hit, i) => {
    const n = i + 1;
    const item = el("li", "passage");
    item.id = "passage-" + n;
    item.dataset.chunkId = hit.chunk_id;
    item.tabIndex = 0;
    item.setAttribute("role", "button");
    item.setAttribute("aria-label", "段落 " + n + "：" + hit.title + "，点击查看原文");
    const head = el("div", "passage-head");
    head.appendChild(el("span", "num", "[" + n + "]"));
    head.appendChild(el("span", "title", hit.title));
    item.appendChild(head);
    metaLine(item.appendChild(el("p", "meta")), hit);
    const text = el("p", "text");
    const hl = hit.highlight || [null, null];
    markedText(text, hit.text, hl[0], hl[1]);
    item.appendChild(text);
    opensArticle(item, hit);
    list.appendChild(item);
  });
  $("passages-section").hidden = hits.length === 0;
}

function flashPassage(n) {
  const item = $("passage-" + n);
  if (!item) return;
  item.scrollIntoView({ behavior: "smooth", block: "center" });
  item.classList.remove("flash");
  void item.offsetWidth; // restart the highlight when the same marker is clicked twice
  item.classList.add("flash");
  item.focus({ preventScroll: true });
  setTimeout(() => item.classList.remove("flash"), 2000);
}

function renderAnswer(answer, hits) {
  const box = $("answer");
  const body = $("answer-body");
  body.textContent = "";
  if (!answer || !answer.text) {
    box.hidden = true;
    return;
  }
  // Citation numbers refer to chunks; find each chunk's place in the passage list.
  const byChunk = new Map(hits.map((h, i) => [h.chunk_id, i + 1]));
  const numberToPassage = new Map(
    (answer.citations || []).map((c) => [c.number, byChunk.get(c.chunk_id) || c.number]),
  );
  const para = el("p");
  const sentences = answer.sentences && answer.sentences.length
    ? answer.sentences
    : [{ text: answer.text, citations: [] }];
  for (const sentence of sentences) {
    const span = el("span", sentence.unsupported ? "unsupported" : null, sentence.text);
    para.appendChild(span);
    for (const number of sentence.citations || []) {
      const target = numberToPassage.get(number) || number;
      const cite = el("button", "cite", "[" + number + "]");
      cite.type = "button";
      cite.title = "跳到段落 " + target;
      cite.addEventListener("click", () => flashPassage(target));
      para.appendChild(cite);
    }
  }
  body.appendChild(para);
  if (answer.notice) body.appendChild(el("p", "meta", answer.notice));
  box.hidden = false;
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    throw new Error("服务器返回了无法解析的响应（HTTP " + response.status + "）");
  }
  if (!response.ok) throw new Error((data && data.error) || "HTTP " + response.status);
  return data;
}

// Form fields and the URL parameters they become (the API's names).
const FIELDS = [
  ["q", "q"], ["since", "since"], ["until", "until"], ["source", "source"],
  ["as-of", "as_of"], ["mode", "mode"], ["k", "k"],
];

function formParams(view) {
  const params = new URLSearchParams();
  for (const [id, name] of FIELDS) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  if (view === "timeline") params.set("view", "timeline");
  return params;
}

// The form as the URL says; a field the URL leaves out goes back to its default, so
// going back in history never mixes one search's filters into another.
function fillForm(params) {
  for (const [id, name] of FIELDS) {
    const field = $(id);
    const value = params.get(name);
    if (value !== null) field.value = value;
    else if (field.tagName === "SELECT") {
      const initial = Array.from(field.options).find((option) => option.defaultSelected);
      field.value = (initial || field.options[0]).value;
    } else field.value = "";
  }
}

// "时间范围 2023-11-13 – 2023-11-19（上周）", or "" when the question named no time.
function windowNote(span) {
  if (!span) return "";
  return "时间范围 " + span.start + " – " + span.end + "（" + span.expression + "）";
}

function joinNotes(...notes) {
  return notes.filter(Boolean).join("。");
}

function clearResults() {
  currentHits = [];
  renderPassages([]);
  renderAnswer(null, []);
  renderTimeline([]);
  closeReader();
}

function run(params, push) {
  if (!params.get("q")) return;
  if (push) history.pushState(null, "", "?" + params.toString());
  const view = params.get("view") === "timeline" ? "timeline" : "ask";
  const api = new URLSearchParams(params);
  api.delete("view");
  if (view === "timeline") {
    api.delete("k"); // a timeline lists every relevant article, not the top k passages
    return showTimeline(api);
  }
  return ask(api);
}

function setBusy(busy) {
  $("ask-button").disabled = busy;
  $("timeline-button").disabled = busy;
}

async function ask(params) {
  setBusy(true);
  setStatus("检索中…");
  try {
    const data = await fetchJson("/api/ask?" + params.toString());
    clearResults();
    currentHits = data.hits;
    renderPassages(data.hits);
    renderAnswer(data.answer, data.hits);
    const range = joinNotes(
      windowNote(data.time_window),
      data.recency ? "“" + data.recency + "”：相关度相近的段落中最新的排在前面" : "",
    );
    if (data.time_window && data.time_window.outside) {
      setStatus(joinNotes(range, "该时间范围内没有相关段落，以下是范围之外最接近的内容"));
    } else if (!data.hits.length) setStatus(joinNotes(range, data.notice || "没有找到相关段落"));
    else if (!data.found) {
      setStatus(joinNotes(range, "没有足够相关的段落；以下是最接近的内容，仅供参考"));
    } else {
      setStatus(joinNotes(range, "找到 " + data.hits.length + " 个相关段落，点击段落查看原文"));
    }
  } catch (error) {
    clearResults();
    setStatus("出错了：" + error.message, true);
  } finally {
    setBusy(false);
  }
}

async function showTimeline(params) {
  setBusy(true);
  setStatus("整理时间线…");
  try {
    const data = await fetchJson("/api/timeline?" + params.toString());
    clearResults();
    renderTimeline(data.entries);
    const range = windowNote(data.time_window);
    if (!data.entries.length) {
      setStatus(joinNotes(range, data.notice || "没有找到相关文章"));
    } else {
      setStatus(joinNotes(range, "时间线：" + data.entries.length + " 篇文章，按日期排列，点击查看原文"));
    }
  } catch (error) {
    clearResults();
    setStatus("出错了：" + error.message, true);
  } finally {
    setBusy(false);
  }
}

function renderTimeline(entries) {
  const list = $("timeline");
  list.textContent = "";
  entries.forEach((entry, i) => {
    const item = el("li", "timeline-entry");
    item.id = "entry-" + (i + 1);
    item.tabIndex = 0;
    item.setAttribute("role", "button");
    item.setAttribute("aria-label", day(entry.published) + "：" + entry.title + "，点击查看原文");
    const date = el("time", "date", day(entry.published));
    if (entry.published) date.dateTime = entry.published;
    item.appendChild(date);
    const body = el("div", "entry-body");
    body.appendChild(el("div", "title", entry.title));
    metaLine(body.appendChild(el("p", "meta")), entry, false); // the date leads the entry
    body.appendChild(el("p", "sentence", entry.sentence));
    if (entry.also_reported_by && entry.also_reported_by.length) {
      body.appendChild(el("p", "also", "也见于：" + entry.also_reported_by.join("、")));
    }
    item.appendChild(body);
    opensArticle(item, entry);
    list.appendChild(item);
  });
  $("timeline-section").hidden = entries.length === 0;
}

async function openArticle(hit, item) {
  const ticket = ++articleRequest;
  document.querySelectorAll(".active").forEach((p) => p.classList.remove("active"));
  item.classList.add("active");
  try {
    const article = await fetchJson("/api/articles/" + encodeURIComponent(hit.article_id));
    if (ticket !== articleRequest) return; // a later click won
    $("reader-title").textContent = article.title;
    metaLine($("reader-meta"), article);
    const mark = markedText($("reader-text"), article.text, hit.start, hit.end, "reader-mark");
    $("reader").hidden = false;
    document.querySelector(".layout").classList.add("with-reader");
    revealInReader(mark);
  } catch (error) {
    setStatus("无法打开原文：" + error.message, true);
  }
}

function revealInReader(mark) {
  const reader = $("reader");
  reader.scrollTop = 0;
  if (!mark) return;
  if (reader.scrollHeight > reader.clientHeight) {
    // Sticky side panel with its own scrollbar: bring the passage to its upper third
    // without scrolling the result list away.
    const offset = mark.getBoundingClientRect().top - reader.getBoundingClientRect().top;
    reader.scrollTop = Math.max(0, offset - reader.clientHeight / 3);
  } else {
    mark.scrollIntoView({ block: "center" });
  }
}

function closeReader() {
  $("reader").hidden = true;
  document.querySelector(".layout").classList.remove("with-reader");
  document.querySelectorAll(".active").forEach((p) => p.classList.remove("active"));
}

async function showIndex() {
  try {
    const health = await fetchJson("/api/health");
    $("foot").textContent =
      "索引 " + health.version + " · " + health.articles + " 篇文章 · " + health.passages + " 个段落";
  } catch (error) {
    $("foot").textContent = error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const view = event.submitter && event.submitter.value === "timeline" ? "timeline" : "ask";
    run(formParams(view), true);
  });
  $("reader-close").addEventListener("click", closeReader);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeReader();
  });
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    fillForm(params);
    run(params, false);
  });
  const initial = new URLSearchParams(location.search);
  fillForm(initial);
  if (initial.get("q")) run(initial, false);
  showIndex();
});
