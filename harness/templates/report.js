"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const PAGE = 25;
  const $ = (id) => document.getElementById(id);
  const state = { page: 0 };
  const haystacks = new Map();

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function haystack(ex) {
    if (!haystacks.has(ex.id)) {
      const parts = [ex.id, ex.prompt, ex.reference];
      for (const c of data.columns) parts.push(ex.out[c].text);
      haystacks.set(ex.id, parts.join("\n").toLowerCase());
    }
    return haystacks.get(ex.id);
  }

  function shownColumns() {
    return Array.from(document.querySelectorAll(".show-column")).filter((b) => b.checked).map((b) => b.value);
  }

  function fails(out, check) {
    if (!check) return true;
    return check === "*" ? out.fail.length > 0 : out.fail.some((f) => f[0] === check);
  }

  function selected() {
    const query = $("search").value.trim().toLowerCase();
    const check = $("filter-check").value;
    const where = $("filter-variant").value;
    const a = $("diff-a").value, b = $("diff-b").value;
    let rows = data.examples.map((ex, index) => ({ ex, index }));
    if (query) rows = rows.filter((r) => haystack(r.ex).includes(query));
    if (check) {
      const cols = where ? [where] : data.columns;
      rows = rows.filter((r) => cols.some((c) => fails(r.ex.out[c], check)));
    }
    const sort = $("sort").value;
    const delta = (r, key) => r.ex.out[b][key] - r.ex.out[a][key];
    if (sort === "words") rows.sort((x, y) => delta(x, "words") - delta(y, "words") || x.index - y.index);
    if (sort === "words-up") rows.sort((x, y) => delta(y, "words") - delta(x, "words") || x.index - y.index);
    if (sort === "nll") rows.sort((x, y) => (delta(x, "nll") || 0) - (delta(y, "nll") || 0) || x.index - y.index);
    return rows;
  }

  // Text with filler spans marked; the offsets arrive as UTF-16 indexes, as JavaScript strings count.
  function withFiller(text, spans) {
    const box = el("div", null, "text");
    let at = 0;
    for (const [start, end, category] of spans) {
      if (start < at || end > text.length) continue;
      box.append(text.slice(at, start));
      const mark = el("mark", text.slice(start, end));
      mark.title = "filler: " + category;
      box.append(mark);
      at = end;
    }
    box.append(text.slice(at));
    return box;
  }

  function words(text) { return text.split(/(\s+)/).filter((t) => t.length); }

  // Word-level diff of `after` against `before` (LCS), rendered with <ins>/<del>.
  function diff(before, after) {
    const a = words(before), b = words(after);
    const box = el("div", null, "text");
    if (a.length * b.length > 400000) { box.append(after); return box; }
    const n = a.length, m = b.length;
    const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    let i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] === b[j]) { box.append(b[j]); i++; j++; }
      else if (j < m && (i >= n || dp[i][j + 1] >= dp[i + 1][j])) { box.append(el("ins", b[j])); j++; }
      else { box.append(el("del", a[i])); i++; }
    }
    return box;
  }

  function outputCell(ex, column, a, b) {
    const out = ex.out[column];
    const td = el("td");
    td.dataset.column = column;
    td.append(column === b && a !== b ? diff(ex.out[a].text, out.text) : withFiller(out.text, out.filler));
    const meta = [out.words + " words", out.tokens + " tokens"];
    if (out.stop) meta.push(out.stop);
    meta.push(out.nll === null ? "NLL –" : "NLL " + out.nll.toFixed(3));
    td.append(el("div", meta.join(" · "), "meta"));
    for (const [check, reason] of out.fail) td.append(el("div", "✗ " + check + ": " + reason, "fail"));
    return td;
  }

  function render() {
    const rows = selected();
    const columns = shownColumns();
    const a = $("diff-a").value, b = $("diff-b").value;
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const head = $("example-head");
    head.replaceChildren(el("th", "prompt / reference"));
    for (const c of columns) head.append(el("th", c === b && a !== b ? c + " (changes vs " + a + ")" : c));
    const body = $("example-body");
    body.replaceChildren();
    for (const { ex } of rows.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const tr = el("tr");
      tr.dataset.id = ex.id;
      const first = el("td", null, "ex");
      first.append(el("div", ex.prompt, "text"), el("div", "reference", "meta"), el("div", ex.reference, "text"),
        el("div", ex.id + (ex.task ? " · " + ex.task : ""), "meta"));
      tr.append(first);
      for (const c of columns) tr.append(outputCell(ex, c, a, b));
      body.append(tr);
    }
    const start = rows.length ? state.page * PAGE + 1 : 0;
    $("count").textContent = "showing " + start + "–" + Math.min(rows.length, (state.page + 1) * PAGE) + " of " +
      rows.length + " examples" + (rows.length < data.examples.length ? " (filtered from " + data.examples.length + ")" : "");
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  let timer = null;
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.page = 0; render(); }, 120); });
  for (const id of ["filter-check", "filter-variant", "sort", "diff-a", "diff-b"])
    $(id).addEventListener("change", () => { state.page = 0; render(); });
  for (const box of document.querySelectorAll(".show-column")) box.addEventListener("change", render);
  $("prev").addEventListener("click", () => { state.page--; render(); });
  $("next").addEventListener("click", () => { state.page++; render(); });
  render();
})();
