// The search page. Every piece of article text, and every message from the server,
// goes into the DOM as a text node (textContent / createTextNode), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
let currentHits = [];
let articleRequest = 0;
// Set while the article reader covers the page as its own history entry (narrow
// screens), so the phone's back button closes it instead of leaving the search.
let readerEntry = false;
const NARROW = window.matchMedia("(max-width: 700px)");
// This conversation's questions, oldest first: a new question is sent with them as
// `previous`, so a follow-up (那甲烷呢？) is completed from them. 新话题 empties it.
let thread = [];
const MAX_PREVIOUS = 8;

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

// The status line, and under it the server's own words (in English, for the record
// and a bug report) when there are any.
function setStatus(text, isError, detail) {
  const status = $("status");
  status.textContent = text || "";
  status.classList.toggle("error", Boolean(isError));
  const line = $("status-detail");
  line.textContent = detail ? "服务器信息：" + detail : "";
  line.hidden = !detail;
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

// How the passage list is headed: real hits, the closest passages when nothing answers
// (muted, so they are not read as an answer), or passages from outside the time window.
const PASSAGE_KINDS = {
  hits: { heading: "相关段落", note: "" },
  closest: {
    heading: "最接近的段落（不是答案）",
    note: "索引中没有能回答这个问题的段落。下面是最接近的内容，仅供参考。",
  },
  outside: {
    heading: "时间范围之外的段落",
    note: "所问的时间范围内没有相关段落，下面的段落来自范围之外。",
  },
};

function renderPassages(hits, kind = "hits") {
  const list = $("passages");
  list.textContent = "";
  const look = PASSAGE_KINDS[kind];
  $("passages-section").dataset.kind = kind;
  $("passages-heading").textContent = look.heading;
  $("passages-note").textContent = look.note;
  $("passages-note").hidden = !look.note;
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
  // A question asked in English: the English of the names and numbers quoted above.
  const glosses = (answer.glosses || []).map((g) => g.text + " " + g.english);
  if (glosses.length) body.appendChild(el("p", "meta", glosses.join(" · ")));
  if (answer.notice) body.appendChild(el("p", "meta", answer.notice));
  box.hidden = false;
}

// A failed request: ``message`` in the page's language, ``detail`` the server's text.
class ApiError extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail || "";
  }
}

// What an error status means to the reader of the page; the server's English text stays
// beside it as the detail.
function errorMessage(status, detail) {
  if (/invalid date/i.test(detail)) return "日期无效，请按 YYYY-MM-DD 填写，例如 2023-11-20";
  if (status === 404) return "找不到这篇文章，索引可能已经更新，请重新检索";
  if (status === 413) return "请求太长，请缩短问题";
  if (status === 400 || status === 422) return "请求有误，请检查问题和筛选条件";
  if (status === 403 || status === 421) return "服务器拒绝了这个请求（地址或来源不被允许）";
  if (status === 502) return "语言模型服务出错，请稍后再试";
  if (status === 503) return "索引暂时不可用：可能尚未建立、已损坏或正在更新，请稍后再试";
  if (status >= 500) return "服务器内部出错，请稍后再试";
  return "请求失败（HTTP " + status + "）";
}

function serverText(data) {
  if (!data) return "";
  const text = data.error || data.detail || data.message;
  if (typeof text === "string") return text;
  return text ? JSON.stringify(text) : "";
}

async function fetchJson(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (error) {
    throw new ApiError("无法连接服务器，请检查网络或服务是否在运行", error.message);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    if (!response.ok) throw new ApiError(errorMessage(response.status, ""), "HTTP " + response.status);
    throw new ApiError("服务器返回了无法解析的响应", "HTTP " + response.status);
  }
  if (!response.ok) {
    const detail = serverText(data) || "HTTP " + response.status;
    throw new ApiError(errorMessage(response.status, detail), detail);
  }
  return data;
}

function showError(prefix, error) {
  const detail = error instanceof ApiError ? error.detail : String(error && error.message);
  const message = error instanceof ApiError ? error.message : "页面出错了";
  setStatus(prefix + message, true, detail);
}

// Form fields and the URL parameters they become (the API's names).
const FIELDS = [
  ["q", "q"], ["since", "since"], ["until", "until"], ["source", "source"],
  ["as-of", "as_of"], ["mode", "mode"], ["k", "k"],
];

const DATE_FIELDS = ["since", "until", "as-of"];
const DATE_MESSAGE = "请按 YYYY-MM-DD 填写日期，例如 2023-11-20";

// "2023-11-20" from what people type for it: 2023-1-5, 2023/11/20, 2023.11.20, 20231120,
// 2023年11月20日, full-width digits; "" for nothing, null for no such day.
function normalizeDate(text) {
  const value = text
    .trim()
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/日$/, "")
    .replace(/\s+/g, "")
    .replace(/[年月./／．－]/g, "-");
  if (!value) return "";
  const parts = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value) || /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!parts) return null;
  const [year, month, dayOfMonth] = parts.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, dayOfMonth));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1
      || date.getUTCDate() !== dayOfMonth) return null;
  return parts[1] + "-" + String(month).padStart(2, "0") + "-" + String(dayOfMonth).padStart(2, "0");
}

// Phones offer digits only for inputmode="numeric": the dashes come by themselves.
function dashWhileTyping(event) {
  const field = event.target;
  if (!event.inputType || !event.inputType.startsWith("insert")) return;
  if (field.selectionStart !== field.value.length) return;
  if (/^\d{5}$/.test(field.value) || /^\d{4}-\d{3}$/.test(field.value)) {
    field.value = field.value.slice(0, -1) + "-" + field.value.slice(-1);
  }
}

// Every date field written as YYYY-MM-DD; false (with the field's message shown) when
// one holds no real day or the range is backwards.
function checkDates() {
  for (const id of DATE_FIELDS) {
    const field = $(id);
    const value = normalizeDate(field.value);
    field.setCustomValidity(value === null ? DATE_MESSAGE : "");
    if (value !== null) field.value = value;
  }
  const since = $("since").value;
  const until = $("until").value;
  if (since && until && until < since && $("until").validity.valid) {
    $("until").setCustomValidity("结束日期早于起始日期");
  }
  const bad = DATE_FIELDS.map($).find((field) => !field.validity.valid);
  if (!bad) return true;
  $("filters-box").open = true;
  bad.reportValidity();
  return false;
}

function formParams(view) {
  const params = new URLSearchParams();
  for (const [id, name] of FIELDS) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  if (view === "timeline") params.set("view", "timeline");
  return params;
}

function isDefault(field) {
  if (field.tagName !== "SELECT") return !field.value.trim();
  const initial = Array.from(field.options).find((option) => option.defaultSelected);
  return field.value === (initial || field.options[0]).value;
}

// The number of filters set, on the folded 筛选 line, so a folded filter is not forgotten.
function showFilterCount() {
  const set = FIELDS.filter(([id]) => id !== "q" && !isDefault($(id))).length;
  $("filter-count").textContent = set ? "（已设 " + set + " 项）" : "";
  return set;
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
    field.setCustomValidity("");
  }
  if (showFilterCount()) $("filters-box").open = true;
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
  setStatus("");
  renderPassages([]);
  renderAnswer(null, []);
  renderTimeline([]);
  renderWatches([]);
  closeReader();
}

function run(params, push) {
  $("watches-button").setAttribute("aria-pressed", String(params.get("view") === "watches"));
  if (params.get("view") === "watches") {
    if (push) history.pushState(null, "", "?view=watches");
    return showWatches();
  }
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
  $("watches-button").disabled = busy;
}

// The conversation so far, the last question with what was searched for it.
function renderThread(searched) {
  const list = $("thread");
  list.replaceChildren();
  thread.forEach((question, i) => {
    const item = el("li", i === thread.length - 1 ? "current" : "", question);
    if (i === thread.length - 1 && searched) item.append(el("span", "searched", "检索：" + searched));
    list.append(item);
  });
  $("thread-section").hidden = thread.length === 0;
}

function startNewTopic() {
  thread = [];
  renderThread("");
  $("q").value = "";
  $("q").focus();
}

async function ask(params) {
  setBusy(true);
  setStatus("检索中…");
  try {
    const data = await fetchJson("/api/ask?" + params.toString());
    clearResults();
    currentHits = data.hits;
    const outside = Boolean(data.time_window && data.time_window.outside);
    const closest = data.hits.length > 0 && data.found === false;
    renderPassages(data.hits, closest ? "closest" : outside ? "outside" : "hits");
    renderAnswer(data.answer, data.hits);
    const follow = data.follow_up;
    const asked = params.get("q");
    thread = follow && follow.new_topic ? [asked] : [...params.getAll("previous"), asked];
    renderThread(follow && follow.completed ? follow.searched : "");
    const range = joinNotes(
      windowNote(data.time_window),
      data.recency ? "“" + data.recency + "”：相关度相近的段落中最新的排在前面" : "",
    );
    const filtered = ["since", "until", "source"].some((name) => params.get(name));
    let message;
    if (!data.hits.length) message = filtered ? "没有符合筛选条件的段落" : "没有找到相关段落";
    else if (closest) message = "没有找到答案：索引中没有足够相关的段落";
    else if (outside) message = "该时间范围内没有相关段落，以下是范围之外最接近的内容";
    else message = "找到 " + data.hits.length + " 个相关段落，点击段落查看原文";
    setStatus(joinNotes(range, message), false, data.notice);
  } catch (error) {
    clearResults();
    showError("出错了：", error);
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
      setStatus(joinNotes(range, "没有找到相关文章"), false, data.notice);
    } else {
      setStatus(joinNotes(range, "时间线：" + data.entries.length + " 篇文章，按日期排列，点击查看原文"));
    }
  } catch (error) {
    clearResults();
    showError("出错了：", error);
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

// "2024-05-20 08:00 UTC" from an ISO time, the way the command line shows a check.
function moment(iso) {
  return iso ? iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC" : "";
}

// The watches (saved questions) with what each check reported last. Reading them
// changes nothing: the server only lists, it does not check.
async function showWatches() {
  setBusy(true);
  setStatus("读取关注的问题…");
  try {
    const data = await fetchJson("/api/watches");
    clearResults();
    renderWatches(data.watches);
    if (!data.watches.length) {
      setStatus("还没有关注的问题。在命令行用 rag watch add “问题” 添加，rag watch check 检查新文章");
    } else {
      setStatus("关注 " + data.watches.length + " 个问题，各列最近报告的新文章，点击查看原文");
    }
  } catch (error) {
    clearResults();
    showError("出错了：", error);
  } finally {
    setBusy(false);
  }
}

function renderWatches(watches) {
  const list = $("watches");
  list.textContent = "";
  watches.forEach((entry) => {
    const watch = entry.watch;
    const box = el("li", "watch");
    box.appendChild(el("h3", null, watch.question));
    const meta = box.appendChild(el("p", "meta"));
    const checked = watch.last_checked ? "上次检查 " + moment(watch.last_checked) : "尚未检查";
    const parts = [watch.name, checked, "共报告 " + watch.reported + " 篇"];
    if (watch.source) parts.push("来源 " + watch.source);
    meta.appendChild(document.createTextNode(parts.join(" · ")));
    if (entry.feed && entry.feed.startsWith("/watch/")) {
      const feed = el("a", "feed", "Atom 订阅");
      feed.href = entry.feed;
      feed.type = "application/atom+xml";
      meta.appendChild(feed);
    }
    if (!entry.items.length) {
      box.appendChild(el("p", "none", "还没有报告过新文章"));
    }
    const items = box.appendChild(el("ol", "watch-items"));
    entry.items.forEach((found) => {
      const item = el("li", "watch-item");
      item.tabIndex = 0;
      item.setAttribute("role", "button");
      item.setAttribute("aria-label", day(found.published) + "：" + found.title + "，点击查看原文");
      item.appendChild(el("div", "title", found.title));
      metaLine(item.appendChild(el("p", "meta")), { ...found, source: found.outlet });
      item.appendChild(el("p", "sentence", found.sentence));
      if (found.also_reported_by && found.also_reported_by.length) {
        item.appendChild(el("p", "also", "也见于：" + found.also_reported_by.join("、")));
      }
      opensArticle(item, { article_id: found.article_id });
      items.appendChild(item);
    });
    list.appendChild(box);
  });
  $("watches-section").hidden = watches.length === 0;
}

async function openArticle(hit, item) {
  const ticket = ++articleRequest;
  if (!$("reader").hidden && NARROW.matches) return; // the reader covers the list
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
    if (NARROW.matches) {
      // The reader covers the whole screen: it takes the focus, and a history entry
      // the back button removes.
      document.body.classList.add("reader-open");
      if (!readerEntry) {
        history.pushState({ reader: true }, "", location.href);
        readerEntry = true;
      }
      $("reader").focus({ preventScroll: true });
    }
    revealInReader(mark);
  } catch (error) {
    showError("无法打开原文：", error);
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
  const reader = $("reader");
  const opener = document.querySelector(".active");
  const hadFocus = !reader.hidden && reader.contains(document.activeElement);
  reader.hidden = true;
  document.body.classList.remove("reader-open");
  document.querySelector(".layout").classList.remove("with-reader");
  document.querySelectorAll(".active").forEach((p) => p.classList.remove("active"));
  if (hadFocus && opener) opener.focus(); // back where the reader was opened from
}

// The close button and Escape: through history when the reader has an entry there.
function dismissReader() {
  if (readerEntry) history.back();
  else closeReader();
}

async function showIndex() {
  try {
    const health = await fetchJson("/api/health");
    $("foot").textContent =
      "索引 " + health.version + " · " + health.articles + " 篇文章 · " + health.passages + " 个段落";
  } catch (error) {
    $("foot").textContent = "索引状态不可用：" + error.message;
    $("foot").title = error.detail || "";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkDates()) return;
    const view = event.submitter && event.submitter.value === "timeline" ? "timeline" : "ask";
    if (window.matchMedia("(pointer: coarse)").matches) {
      document.activeElement.blur(); // the on-screen keyboard would hide the results
    }
    if (NARROW.matches) $("filters-box").open = false;
    const params = formParams(view);
    if (view === "ask") for (const earlier of thread.slice(-MAX_PREVIOUS)) params.append("previous", earlier);
    run(params, true);
  });
  $("new-topic").addEventListener("click", startNewTopic);
  const question = $("q");
  question.addEventListener("invalid", () => {
    question.setCustomValidity(question.validity.valueMissing ? "请输入问题" : "");
  });
  question.addEventListener("input", () => question.setCustomValidity(""));
  for (const id of DATE_FIELDS) {
    const field = $(id);
    field.addEventListener("input", (event) => {
      field.setCustomValidity("");
      dashWhileTyping(event);
    });
    field.addEventListener("change", () => {
      const value = normalizeDate(field.value);
      if (value) field.value = value;
      field.setCustomValidity(value === null ? DATE_MESSAGE : "");
    });
  }
  $("ask-form").addEventListener("input", showFilterCount);
  $("ask-form").addEventListener("change", showFilterCount);
  $("reader-close").addEventListener("click", dismissReader);
  $("watches-button").addEventListener("click", () => {
    if (NARROW.matches) $("filters-box").open = false;
    run(new URLSearchParams("view=watches"), true);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("reader").hidden) dismissReader();
  });
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.reader) return; // forward onto a closed reader's entry
    if (readerEntry) {
      readerEntry = false;
      closeReader();
      return;
    }
    const params = new URLSearchParams(location.search);
    fillForm(params);
    run(params, false);
  });
  const initial = new URLSearchParams(location.search);
  if (!NARROW.matches) $("filters-box").open = true;
  fillForm(initial);
  if (initial.get("q") || initial.get("view") === "watches") run(initial, false);
  showIndex();
});
