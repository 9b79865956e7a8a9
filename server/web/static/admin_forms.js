/* /admin: a form built from a section's FIELDS (admin_fields.js) with its inputs (admin_controls.js),
 * filled with an item, read as the API takes it (POST for a new item, PATCH as a JSON merge patch of
 * only what this person changed, where an emptied field is null), and the server's refusal shown next
 * to the field it names (error.field), or "Đã lưu"; and the sending of a form (send), with a second
 * press to delete or revoke: QK.admin.makeForm, send, onSecondPress.
 */
(function () {
  "use strict";

  const A = QK.admin;
  const el = QK.el, say = QK.say, labelled = A.labelled;
  const data = A.data;
  const FIELDS = A.FIELDS, KEYS = A.KEYS, OPTIONAL_OBJECTS = A.OPTIONAL_OBJECTS;
  const get = A.get, put = A.put, makeControl = A.makeControl;
  const SAVED_MS = 4000;
  const DELETE_CONFIRM_MS = 5000;

  function withoutNulls(value) {
    if (Array.isArray(value) || value === null || typeof value !== "object") return value;
    const out = {};
    Object.keys(value).forEach(function (key) {
      const kept = withoutNulls(value[key]);
      if (kept !== null && kept !== undefined && !(typeof kept === "object" && !Array.isArray(kept) && !Object.keys(kept).length)) {
        out[key] = kept;
      }
    });
    return out;
  }

  // --- a form built from FIELDS -------------------------------------------------------------
  /**
   * ``editable(field)`` says which inputs this person may change. Returns {node, controls,
   * fill(item, mode), read(mode), errors(answer), clearErrors(), status(key), showError(path, message),
   * note(path, key), dirty(), settle(), commitPending()}.
   */
  const openForms = [];  // the forms of the tab shown (drawn afresh at each tab)

  /** True when nothing typed would be lost, or the person agrees to lose it ("Có thay đổi chưa lưu…"). */
  function mayDiscard(forms) {
    const unsaved = (forms || openForms).some(function (form) { return form.node.isConnected && form.dirty(); });
    return !unsaved || window.confirm(QK.msg("admin_unsaved", null, QK.lang()));
  }

  function makeForm(fields, editable, group) {
    const form = el("form", "editor");
    form.noValidate = true;
    form.dataset.form = group;
    const controls = {};
    const formError = el("div", "message error form-error");
    formError.hidden = true;
    formError.setAttribute("role", "alert");

    fields.forEach(function (field) {
      const wrap = el("div", "field kind-" + field.kind + (field.wide ? " wide" : ""));
      wrap.dataset.field = field.path;
      const id = "f-" + group + "-" + field.path.replace(/\W/g, "-");
      const label = labelled("label", null, field.label);
      label.htmlFor = id;
      wrap.appendChild(label);
      const control = makeControl(field, id);
      wrap.appendChild(control.node);
      if (field.hint) wrap.appendChild(labelled("div", "hint", field.hint));
      const error = el("div", "field-error");
      error.hidden = true;
      error.setAttribute("role", "alert");
      wrap.appendChild(error);
      const note = el("div", "field-note");  // a warning about what is saved, not a refusal
      note.hidden = true;
      wrap.appendChild(note);
      form.appendChild(wrap);
      control.wrap = wrap;
      control.error = error;
      control.note = note;
      control.field = field;
      control.setDisabled(!editable(field));
      controls[field.path] = control;
      control.onInput(function () { clearOne(control); status(null); });
    });

    form.appendChild(formError);
    const actions = el("div", "actions");
    const save = labelled("button", "primary save", "admin_save");
    save.type = "submit";
    const saved = el("span", "saved");
    saved.setAttribute("role", "status");
    actions.appendChild(save);
    actions.appendChild(saved);
    form.appendChild(actions);
    save.hidden = !fields.some(editable);
    let savedTimer = null;

    function clearOne(control) {
      control.wrap.classList.remove("invalid");
      control.error.hidden = true;
      control.error.textContent = "";
    }
    function clearErrors() {
      Object.values(controls).forEach(clearOne);
      formError.hidden = true;
      formError.textContent = "";
    }
    function status(key) {
      clearTimeout(savedTimer);
      if (!key) { saved.textContent = ""; delete saved.dataset.t; return; }
      say(saved, key);
      savedTimer = setTimeout(function () { saved.textContent = ""; delete saved.dataset.t; }, SAVED_MS);
    }

    // a form of the site's own settings (tab Giờ làm việc, Bảng tin ...), not of one item of a list
    const siteWide = !Object.prototype.hasOwnProperty.call(KEYS, group);

    /** The control an API error names: "name.vi", "name" (a group: its first part, whose label names it,
     *  e.g. a new service without any name), "services[0]" (an item of the control's list); on a site
     *  form also "site.hours.close" and "displays[2].ticker" (the site's ticker is every display's). A
     *  path of another item ("services[0].name.vi" on a counter's form) is none of this form's controls. */
    function controlFor(name) {
      if (!name) return null;
      // (a site's change in the sites tab is refused at "site.name", its new site at "name")
      // (the holidays refused at "site.hours.holidays[0]" or "hours.holidays": the holidays form's one field)
      const candidate = siteWide ? name.replace(/^site\./, "").replace(/^displays\[\d+\]\.(?=ticker)/, "").replace(/^hours\.(?=holidays)/, "")
        : group === "sites" ? name.replace(/^site\./, "") : name;
      let best = null;
      Object.keys(controls).forEach(function (path) {
        const rest = candidate.startsWith(path) ? candidate.slice(path.length) : null;
        if (rest === "" || (rest !== null && (rest.startsWith(".") || /^\[\d+\]$/.test(rest)))) {
          if (!best || path.length > best.length) best = path;
        }
      });
      if (best) return controls[best];
      const inside = Object.keys(controls).find(function (path) { return path.startsWith(candidate + "."); });
      return inside ? controls[inside] : null;
    }

    /** Another item a problem is about ("services[0].name.vi" -> Dịch vụ HT, its field "Tên (tiếng Việt)"),
     *  named in words for the form's foot; null when the path is none of the setup's items. */
    function otherItem(name) {
      const match = /^(\w+)\[(\d+)\]\.?(.*)$/.exec(name || "");
      let section, item = "", fieldPath;
      if (match && match[1] in KEYS && Array.isArray(data.setup[match[1]])) {
        section = match[1];
        const found = data.setup[section][Number(match[2])];
        item = " " + (found ? found[KEYS[section]] : match[2]);
        fieldPath = match[3];
      } else if (/^site\./.test(name || "")) {
        section = "hours";
        fieldPath = name.slice("site.".length);
      } else return null;
      const field = (FIELDS[section] || []).find(function (f) { return f.path === fieldPath; });
      const both = function (key) { return {vi: QK.msg(key, null, "vi"), en: QK.msg(key, null, "en")}; };
      return {tab: both("admin_tab_" + section), item: item, field: field ? both(field.label) : fieldPath};
    }

    let filled = null;  // the form as filled for a change, read back as it would be sent
    let baseline = null;  // the form as filled (or last saved), as text: what "changed and not saved" compares to
    let filledMode = null;

    function readAll(mode) {
      const body = {};
      fields.forEach(function (field) {
        const control = controls[field.path];
        if (field.only && field.only !== mode) return;
        if (mode === "change" && (field.key || !editable(field))) return;
        const value = control.get();
        if (field.kind === "password" && value === null) return;  // empty: the password stays
        put(body, field.path, value);
      });
      (OPTIONAL_OBJECTS[group] || []).forEach(function (name) {
        const part = body[name];
        if (part && Object.values(part).every(function (v) { return v === null; })) body[name] = null;
      });
      return mode === "create" ? withoutNulls(body) : body;
    }

    /** ``message``: a text, or a refused call's answer, said in the page's language after each switch too.
     *  A problem of a field is said with the label the form shows for it ("Số bắt đầu"), not the API's
     *  name of it ("numbers.start"); of none on the form, as the API says it. ``focus``: its control. */
    function showError(name, message, focus) {
      const control = controlFor(name);
      const other = control ? null : otherItem(name);
      // each problem its own line: two about one place (or at the foot) are both said
      const line = (control ? control.error : formError).appendChild(el("div"));
      const problem = typeof message === "string" ? null : QK.errorTexts(message, "problem");
      if (typeof message === "string") QK.sayText(line, message);
      else if (control && problem) {
        const label = control.field.label;
        QK.say(line, "admin_invalid_field", {field: {vi: QK.msg(label, null, "vi"), en: QK.msg(label, null, "en")}, problem: problem});
      } else if (other && problem) QK.say(line, "admin_other_item_problem", Object.assign({problem: problem}, other));
      else QK.sayError(line, message);
      line.parentNode.hidden = false;
      if (control) {
        control.wrap.classList.add("invalid");
        if (focus !== false) control.focus();
      }
    }

    const made = {
      node: form,
      controls: controls,
      clearErrors: clearErrors,
      status: status,
      showError: showError,
      fill: function (item, mode) {
        clearErrors();
        status(null);
        fields.forEach(function (field) {
          const control = controls[field.path];
          if (control.refill) control.refill(item);
          control.set(item ? get(item, field.path) : undefined);
          const keyLocked = field.key && mode === "change";
          // (``unless``: a flag of the item that leaves the field out, e.g. the first site is never retired)
          control.wrap.hidden = (field.only && field.only !== mode) || !!(field.unless && item && item[field.unless]);
          control.setDisabled(keyLocked || !editable(field));
          control.note.hidden = true;
        });
        filled = mode === "change" ? readAll(mode) : null;
        filledMode = mode;
        baseline = JSON.stringify(readAll(mode));
      },
      /** Something typed and not saved (also a date typed and not yet added). */
      dirty: function () {
        if (baseline === null) return false;
        return JSON.stringify(readAll(filledMode)) !== baseline ||
          Object.values(controls).some(function (control) { return control.pending && control.pending(); });
      },
      /** What is in the form now is saved (a form that keeps what was typed after its save). */
      settle: function () { baseline = JSON.stringify(readAll(filledMode)); },
      /** A date typed and not added is added before a save (false: it is not a date, and nothing is sent). */
      commitPending: function () {
        return Object.values(controls).every(function (control) { return !control.commit || control.commit(); });
      },
      /** A warning ``key`` under the field ``path`` (null: none). */
      note: function (path, key) {
        const control = controls[path];
        control.note.hidden = !key;
        if (key) say(control.note, key);
      },
      /** What to send: for a change, only the parts this person changed since the form was filled, so
       *  that a save never puts back what someone else changed meanwhile in another part. */
      read: function (mode) {
        const body = readAll(mode);
        if (mode !== "change" || !filled) return body;
        Object.keys(body).forEach(function (key) {
          if (JSON.stringify(body[key]) === JSON.stringify(filled[key])) delete body[key];
        });
        return body;
      },
      /** Show what the server said: next to the field it names, else above the buttons. */
      errors: function (answer) {
        clearErrors();
        const error = answer && answer.data && answer.data.error;
        showError(error && error.field, answer);
        // the API names every refused field at once: each under its own field
        ((error && error.others) || []).forEach(function (other) {
          showError(other.field, {status: answer.status, data: {error: other}}, false);
        });
      },
    };
    openForms.push(made);
    return made;
  }

  // --- saving -------------------------------------------------------------------------------
  /** Deleting or revoking asks for a second press within a few seconds (a dialog box would not do on a touch screen). */
  function onSecondPress(button, key, action, confirmKey) {
    button._label = key;
    button.addEventListener("click", function () {
      if (button.dataset.armed) { disarm(button); action(); return; }
      button.dataset.armed = "1";
      say(button, confirmKey || "admin_delete_confirm");
      button._disarm = setTimeout(function () { disarm(button); }, DELETE_CONFIRM_MS);
    });
  }
  function disarm(button) {
    clearTimeout(button._disarm);
    button.dataset.armed = "";
    if (button._label) say(button, button._label);
  }

  /** ``again``: the same call saying the person knows (the API's "confirm"), made when a change that leaves a
   *  service with citizens waiting or booked unserved, or bookings at a closed door, is refused and the
   *  person, asked, says to save it. */
  function send(method, url, body, form, onDone, again) {
    form.clearErrors();
    const buttons = form.node.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    const enable = function () { buttons.forEach(function (b) { b.disabled = false; }); };
    return QK.api(method, url, body, QK.lang()).then(function (answer) {
      enable();
      if (!answer.ok && again && askedAgain(answer)) return again();
      if (!answer.ok) { form.errors(answer); return; }
      return onDone(answer);
    }, function () {
      enable();
      form.showError(null, QK.msg("page_network_error", null, QK.lang()));
    });
  }

  /** The server's own sentence (how many numbers wait, how many bookings on which days) and "save anyway?", in
   *  a confirm. */
  const ASKED_AGAIN = ["setup_service_left_unserved", "setup_bookings_stranded"];
  function askedAgain(answer) {
    const error = answer.data && answer.data.error;
    if (!error || ASKED_AGAIN.indexOf(error.code) < 0) return false;
    const texts = QK.errorTexts(answer), lang = QK.lang();
    return window.confirm((texts[lang] || texts.vi) + "\n\n" + QK.msg("admin_confirm_save", null, lang));
  }

  Object.assign(A, {openForms: openForms, mayDiscard: mayDiscard, makeForm: makeForm, send: send,
                    onSecondPress: onSecondPress, disarm: disarm});
  A.loaded.push(document.currentScript);
})();
