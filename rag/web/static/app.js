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

function metaLine(target, item) {
  target.textContent = "";
  const parts = [day(item.published), item.source || "来源不详"];
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
    const open = () => openArticle(hit, item);
    item.addEventListener("click", open);
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
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

function formParams() {
  const params = new URLSearchParams();
  params.set("q", $("q").value.trim());
  for (const name of ["since", "until", "source"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  params.set("mode", $("mode").value);
  params.set("k", $("k").value);
  return params;
}

function fillForm(params) {
  for (const name of ["q", "since", "until", "source", "mode", "k"]) {
    const value = params.get(name);
    if (value !== null) $(name).value = value;
  }
}

async function ask(params, push) {
  if (!params.get("q")) return;
  if (push) history.pushState(null, "", "?" + params.toString());
  $("ask-button").disabled = true;
  setStatus("检索中…");
  try {
    const data = await fetchJson("/api/ask?" + params.toString());
    currentHits = data.hits;
    renderPassages(data.hits);
    renderAnswer(data.answer, data.hits);
    if (!data.hits.length) setStatus(data.notice || "没有找到相关段落。");
    else if (!data.found) setStatus("没有足够相关的段落；以下是最接近的内容，仅供参考。");
    else setStatus("找到 " + data.hits.length + " 个相关段落，点击段落查看原文。");
  } catch (error) {
    currentHits = [];
    renderPassages([]);
    renderAnswer(null, []);
    setStatus("出错了：" + error.message, true);
  } finally {
    $("ask-button").disabled = false;
  }
}

async function openArticle(hit, item) {
  const ticket = ++articleRequest;
  document.querySelectorAll(".passage.active").forEach((p) => p.classList.remove("active"));
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
  document.querySelectorAll(".passage.active").forEach((p) => p.classList.remove("active"));
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
    ask(formParams(), true);
  });
  $("reader-close").addEventListener("click", closeReader);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeReader();
  });
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    fillForm(params);
    ask(params, false);
  });
  const initial = new URLSearchParams(location.search);
  fillForm(initial);
  if (initial.get("q")) ask(initial, false);
  showIndex();
});
