// Built-in labelling UI: keyboard shortcuts, inline edit of the response, span selection.
(function () {
  const form = document.getElementById("label-form");
  if (!form) return;
  const fields = Array.from(form.querySelectorAll(".label-field"));
  let active = 0;

  function setActive(i) {
    active = Math.max(0, Math.min(fields.length - 1, i));
    fields.forEach((f, j) => f.classList.toggle("active", j === active));
  }
  function syncEditBoxes() {
    form.querySelectorAll('.label-field[data-type="decision"]').forEach((fs) => {
      const checked = fs.querySelector("input[type=radio]:checked");
      const box = fs.querySelector(".edit-box");
      if (box) box.hidden = !(checked && checked.value === "edit");
    });
  }
  function firstUnanswered() {
    const i = fields.findIndex((f) => f.querySelector("input[type=radio]") && !f.querySelector("input[type=radio]:checked"));
    return i < 0 ? 0 : i;
  }
  form.addEventListener("change", syncEditBoxes);
  fields.forEach((f, i) => f.addEventListener("click", () => setActive(i)));
  setActive(firstUnanswered());
  syncEditBoxes();

  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text") || t.tagName === "SELECT");
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(document.getElementById("submit-label")); return; }
    if (typing) { if (ev.key === "Escape") t.blur(); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const fs = fields[active];
    if (ev.key === "ArrowDown") { ev.preventDefault(); setActive(active + 1); return; }
    if (ev.key === "ArrowUp") { ev.preventDefault(); setActive(active - 1); return; }
    if (ev.key === "s" && document.getElementById("skip-item")) { ev.preventDefault(); document.getElementById("skip-item").click(); return; }
    const keyed = form.querySelector('input[type=radio][data-key="' + ev.key + '"]');
    if (keyed && !/^[0-9]$/.test(ev.key)) {
      ev.preventDefault(); keyed.checked = true; syncEditBoxes();
      if (keyed.value === "edit") { const ta = keyed.closest(".label-field").querySelector("textarea"); if (ta) ta.focus(); }
      return;
    }
    if (/^[1-9]$/.test(ev.key) && fs) {
      const radios = fs.querySelectorAll("input[type=radio]");
      const r = radios[parseInt(ev.key, 10) - 1];
      if (r) {
        ev.preventDefault(); r.checked = true; syncEditBoxes();
        if (r.value === "edit") { const ta = fs.querySelector("textarea"); if (ta) { ta.focus(); return; } }
        setActive(active + 1);
      }
    }
  });

  // Entity spans: select text in #item-text, click a label button.
  const textEl = document.getElementById("item-text");
  form.querySelectorAll('.label-field[data-type="spans"]').forEach((fs) => {
    const input = fs.querySelector(".spans-input");
    const list = fs.querySelector(".spans-list");
    let spans = [];
    try { spans = JSON.parse(input.value || "[]"); } catch (e) { spans = []; }
    function render() {
      input.value = JSON.stringify(spans);
      list.innerHTML = "";
      spans.forEach((s, i) => {
        const li = document.createElement("li");
        li.textContent = s.label + ": “" + Array.from(textEl.textContent).slice(s.start, s.end).join("") + "” (" + s.start + "–" + s.end + ") ";
        const b = document.createElement("button"); b.type = "button"; b.className = "secondary"; b.textContent = "remove";
        b.addEventListener("click", () => { spans.splice(i, 1); render(); });
        li.appendChild(b); list.appendChild(li);
      });
    }
    fs.querySelectorAll(".span-label").forEach((btn) => btn.addEventListener("click", () => {
      const sel = window.getSelection();
      if (!sel.rangeCount || !textEl.contains(sel.anchorNode)) return;
      const range = sel.getRangeAt(0);
      const pre = document.createRange(); pre.selectNodeContents(textEl); pre.setEnd(range.startContainer, range.startOffset);
      // offsets in code points, as the server (Python) counts them — not UTF-16 units
      const start = Array.from(pre.toString()).length, end = start + Array.from(range.toString()).length;
      if (end > start) { spans.push({start: start, end: end, label: btn.dataset.label}); render(); }
    }));
    render();
  });
  form.dataset.ready = "1";  // shortcuts are live (browser tests wait for this)
})();
