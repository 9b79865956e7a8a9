/* /admin: the inputs of a form (admin_forms.js), one per field of FIELDS (admin_fields.js) by its
 * kind: a text, a number, a time as hh:mm, a list a line, a select, a check box, "all" or some of a
 * list, the working days, and the holidays typed as dd/mm/yyyy. Each is {node, set(value), get(),
 * setDisabled(disabled), focus(), onInput(handler)}, its value as the API takes it: QK.admin.makeControl.
 */
(function () {
  "use strict";

  const A = QK.admin;
  const el = QK.el, say = QK.say, labelled = A.labelled;
  const data = A.data;

  /** A holiday typed as "dd/mm/yyyy": {iso: "yyyy-mm-dd"}, or {problem: a message key} when it is not in that
   *  form, is not in the calendar (31/02), or has passed (a holiday only matters from today on, so a past one
   *  is a mistyped year; dates saved before stay, and the API takes any: a script may keep last year's list). */
  function typedDate(text) {
    const match = /^\s*(\d{1,2})[\/.-](\d{1,2})[\/.-](\d{4})\s*$/.exec(text || "");
    if (!match) return {problem: "admin_bad_date"};
    const day = Number(match[1]), month = Number(match[2]), year = Number(match[3]);
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
      return {problem: "admin_date_not_in_calendar"};
    }
    const iso = year + "-" + String(month).padStart(2, "0") + "-" + String(day).padStart(2, "0");
    // today at the site ("en-CA" writes yyyy-mm-dd)
    const today = new Intl.DateTimeFormat("en-CA", {timeZone: data.setup.site.timezone}).format(QK.now());
    return iso < today ? {problem: "admin_date_past"} : {iso: iso};
  }
  function shownDate(iso) {
    const parts = String(iso).split("-");
    return parts.length === 3 ? parts[2] + "/" + parts[1] + "/" + parts[0] : String(iso);
  }

  function makeControl(field, id) {
    let node, input;
    const handlers = [];
    const api = {onInput: function (handler) { handlers.push(handler); }};
    function changed() { handlers.forEach(function (h) { h(); }); }

    if (field.kind === "choices" || field.kind === "days") {
      node = el("div", "choices");
      node.id = id;
      const boxes = [];
      let all = null;
      if (field.kind === "choices" && !field.noAll) {
        const allLabel = el("label", "all");
        all = el("input");
        all.type = "checkbox";
        all.value = "all";
        allLabel.appendChild(all);
        allLabel.appendChild(labelled("span", null, "admin_all"));
        node.appendChild(allLabel);
        all.addEventListener("change", function () { boxes.forEach(function (b) { b.disabled = all.checked || all.disabled; }); });
      }
      const options = field.kind === "days" ? QK.WEEKDAYS.map(function (d) { return {value: d, key: "kiosk_day_" + d}; }) : field.options();
      options.forEach(function (option) {
        const label = el("label");
        const box = el("input");
        box.type = "checkbox";
        box.value = String(option.value);
        box._value = option.value;
        label.appendChild(box);
        label.appendChild(option.key ? labelled("span", null, option.key) : el("span", null, option.text));
        node.appendChild(label);
        boxes.push(box);
      });
      node.addEventListener("change", changed);
      api.set = function (value) {
        if (all) all.checked = value === "all" || value === undefined;
        const chosen = Array.isArray(value) ? value.map(String) : [];
        boxes.forEach(function (box) { box.checked = chosen.indexOf(box.value) >= 0; box.disabled = !!(all && all.checked) || api.disabled; });
      };
      api.get = function () {
        if (all && all.checked) return "all";
        return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b._value; });
      };
      api.setDisabled = function (disabled) {
        api.disabled = disabled;
        if (all) all.disabled = disabled;
        boxes.forEach(function (box) { box.disabled = disabled || !!(all && all.checked); });
      };
      api.focus = function () { (all || boxes[0] || node).focus(); };
    } else if (field.kind === "dates") {
      node = makeDates(id, changed);
      api.set = node._set;
      api.get = node._get;
      api.setDisabled = node._setDisabled;
      api.pending = node._pending;
      api.commit = node._commit;
      api.focus = function () { node.querySelector("input").focus(); };
    } else {
      if (field.kind === "select") {
        input = el("select");
        // drawn again at each fill: the options may depend on the item in the form (not a site itself)
        api.refill = function (item) {
          input.replaceChildren();
          if (field.blank) input.appendChild(labelled("option", null, "admin_none")).value = "";
          field.options(item).forEach(function (option) {
            const choice = option.key ? labelled("option", null, option.key) : el("option", null, option.text);
            choice.value = String(option.value);
            input.appendChild(choice);
          });
        };
        api.refill(null);
      } else if (field.kind === "textarea" || field.kind === "lines" || field.kind === "headers") {
        input = el("textarea");
        input.rows = 3;
      } else {
        input = el("input");
        // a time is typed as 24-hour hh:mm (a time input would show AM/PM in some browsers)
        input.type = {int: "number", number: "number", check: "checkbox", english: "checkbox", password: "password"}[field.kind] || "text";
        if (field.kind === "number") input.step = "any";
        if (field.kind === "time") { input.placeholder = "hh:mm"; input.inputMode = "numeric"; input.maxLength = 5; }
        if (field.kind === "password") input.autocomplete = "new-password";
      }
      input.id = id;
      input.name = field.path;
      node = input;
      input.addEventListener("input", changed);
      input.addEventListener("change", changed);
      api.set = function (value) {
        if (field.kind === "check") input.checked = value === undefined ? !field.off : !!value;
        else if (field.kind === "english") input.checked = !value || value.indexOf("en") >= 0;
        else if (field.kind === "lines") input.value = (value || []).join("\n");
        else if (field.kind === "headers") {
          input.value = Object.keys(value || {}).map(function (name) { return name + ": " + value[name]; }).join("\n");
        }
        else if (field.kind === "time") input.value = value ? String(value).slice(0, 5) : "";
        else if (field.kind === "password") input.value = "";
        else if (field.kind === "select" && (value === undefined || value === null) && !field.blank) input.selectedIndex = 0;
        else input.value = value === undefined || value === null ? "" : String(value);
      };
      api.get = function () {
        if (field.kind === "check") return input.checked;
        if (field.kind === "english") return input.checked ? ["vi", "en"] : ["vi"];
        if (field.kind === "lines") return input.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
        if (field.kind === "headers") {  // "Name: value" a line; a line without ":" is sent as it is (the server names it)
          const headers = {};
          input.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).forEach(function (line) {
            const at = line.indexOf(":");
            if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
            else headers[line] = null;
          });
          return headers;
        }
        const text = input.value.trim();
        if (text === "") return null;
        if (field.kind === "int" || field.kind === "number") {
          const number = Number(text);
          return isNaN(number) ? text : number;  // the server says what is wrong with it
        }
        return field.kind === "textarea" ? input.value : text;
      };
      api.setDisabled = function (disabled) { input.disabled = disabled; };
      api.focus = function () { input.focus(); };
    }
    api.node = node;
    return api;
  }

  /** Holidays: the dates as dd/mm/yyyy chips, a dd/mm/yyyy box and "Thêm ngày". */
  function makeDates(id, changed) {
    const node = el("div", "dates");
    const list = el("ul", "date-list");
    const entry = el("input");
    entry.id = id;
    entry.type = "text";
    entry.inputMode = "numeric";
    entry.placeholder = "dd/mm/yyyy";
    entry.className = "date-entry";
    const add = labelled("button", "add-date", "admin_add_day");
    add.type = "button";
    const problem = el("div", "field-error date-problem");
    problem.hidden = true;
    const row = el("div", "date-row");
    row.appendChild(entry);
    row.appendChild(add);
    node.appendChild(list);
    node.appendChild(row);
    node.appendChild(problem);
    let dates = [];
    let disabled = false;

    function draw() {
      list.replaceChildren();
      if (!dates.length) list.appendChild(labelled("li", "none", "admin_no_holidays"));
      dates.forEach(function (iso) {
        const item = el("li", "date");
        item.dataset.date = iso;
        item.appendChild(el("span", null, shownDate(iso)));
        if (!disabled) {
          const remove = el("button", "remove", "×");
          remove.type = "button";
          remove.setAttribute("aria-label", QK.msg("admin_remove", null, QK.lang()) + " " + shownDate(iso));
          remove.addEventListener("click", function () {
            dates = dates.filter(function (d) { return d !== iso; });
            draw();
            changed();
          });
          item.appendChild(remove);
        }
        list.appendChild(item);
      });
    }
    /** The typed date added to the list (true), or its problem said under it (false). */
    function addEntry() {
      const typed = typedDate(entry.value);
      if (typed.problem) {
        say(problem, typed.problem, {date: entry.value.trim()});
        problem.hidden = false;
        return false;
      }
      problem.hidden = true;
      if (dates.indexOf(typed.iso) < 0) dates = dates.concat([typed.iso]).sort();
      entry.value = "";
      draw();
      changed();
      return true;
    }
    add.addEventListener("click", addEntry);
    entry.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); addEntry(); }
    });
    node._set = function (value) { dates = (value || []).slice().sort(); problem.hidden = true; draw(); };
    node._get = function () { return dates.slice(); };
    node._pending = function () { return !disabled && entry.value.trim() !== ""; };
    // "Lưu" with a date still in the box: it is added first (it was left out, and "Đã lưu" said)
    node._commit = function () { return !node._pending() || addEntry(); };
    node._setDisabled = function (value) {
      disabled = value;
      entry.disabled = value;
      add.disabled = value;
      row.hidden = value;
      draw();
    };
    return node;
  }

  A.makeControl = makeControl;
  A.loaded.push(document.currentScript);
})();
