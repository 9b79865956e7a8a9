/* The web admin (/admin): the centre's setup edited live through /api/v1/admin/...
 *
 * After the login (QK.supervisor, as /reports), the page reads the whole setup once and draws the
 * tab that is open: a list of items on the left, a form on the right. Forms are described by
 * FIELDS below (path in the API's JSON, kind of input, label: the server's for the site's fields
 * and a display's, given with the page); a save sends the form as the API
 * takes it (POST for a new item, PATCH as a JSON merge patch, where an emptied field is null)
 * and shows the server's refusal next to the field it names (error.field), or "Đã lưu".
 * An admin changes everything; a supervisor only the ticker, the displays' slides and the
 * holidays (the server checks the same), and sees the rest read-only. The page redraws its lists
 * when anyone saves a change (Socket.IO "config.changed").
 * Text goes in with textContent only; every label follows the language switch (QK.setLang).
 */
(function () {
  "use strict";

  const API = "/api/v1/admin/";
  const SAVED_MS = 4000;
  const DELETE_CONFIRM_MS = 5000;

  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) { return QK.el(tag, className, text); }
  function say(node, key, params) { return QK.say(node, key, params); }
  function labelled(tag, className, key) { return say(el(tag, className), key); }

  let me = null;
  const data = {setup: null, site: null, users: [], tokens: [], webhooks: [], webhookEvents: [], sites: null};
  let currentTab = null;

  // --- what each section's form holds -----------------------------------------------------
  //   kind: text | int | number | time | textarea | lines (a list, one per line) | select |
  //         check | choices ("all" or some of a list) | days | dates | password
  //   only: "create" or "change"; sup: a supervisor may change it; options: for select/choices
  function serviceOptions() { return data.setup.services.map(function (s) { return {value: s.code, text: s.code + " – " + s.name.vi}; }); }
  function counterOptions() { return data.setup.counters.map(function (c) { return {value: c.number, text: c.name || String(c.number)}; }); }
  function printerOptions() { return data.setup.printers.map(function (p) { return {value: p.id, text: p.id}; }); }
  /** Where a retired site may send its citizens: another site that serves (``item``: the site in the form). */
  function servingSiteOptions(item) {
    return (data.sites || []).filter(function (site) { return !site.retired && !(item && site.id === item.id); })
      .map(function (site) { return {value: site.id, text: site.id + " — " + site.name}; });
  }
  function kioskOptions() { return data.setup.kiosks.map(function (k) { return {value: k.id, text: k.id}; }); }
  function fixed(values, prefix) {
    return function () { return values.map(function (v) { return {value: v, key: prefix ? prefix + v : null, text: v}; }); };
  }

  const FIELDS = {
    services: [
      {path: "code", kind: "text", label: "admin_f_code", key: true},
      {path: "name.vi", kind: "text", label: "admin_f_name_vi"},
      {path: "name.en", kind: "text", label: "admin_f_name_en"},
      {path: "examples.vi", kind: "text", label: "admin_f_examples_vi", hint: "admin_h_examples", wide: true},
      {path: "examples.en", kind: "text", label: "admin_f_examples_en", wide: true},
      {path: "field.vi", kind: "text", label: "admin_f_field_vi", hint: "admin_h_field"},
      {path: "field.en", kind: "text", label: "admin_f_field_en"},
      {path: "numbers.start", kind: "int", label: "admin_f_numbers_start"},
      {path: "numbers.end", kind: "int", label: "admin_f_numbers_end"},
      {path: "target_wait_minutes", kind: "int", label: "admin_f_target_wait"},
      {path: "default_service_minutes", kind: "number", label: "admin_f_service_minutes"},
      {path: "daily_limit", kind: "int", label: "admin_f_daily_limit"},
      // bookings (docs/bookings.md): all empty, the service takes none; an empty one takes its default
      {path: "booking.slot_minutes", kind: "int", label: "admin_f_booking_slot_minutes", hint: "admin_h_booking"},
      {path: "booking.per_slot", kind: "int", label: "admin_f_booking_per_slot"},
      {path: "booking.days_ahead", kind: "int", label: "admin_f_booking_days_ahead"},
      {path: "booking.grace_minutes", kind: "int", label: "admin_f_booking_grace_minutes"},
      {path: "booking.remote_checkin_minutes", kind: "int", label: "admin_f_booking_remote_minutes"},
    ],
    counters: [
      {path: "number", kind: "int", label: "admin_f_counter_number", key: true},
      {path: "name", kind: "text", label: "admin_f_counter_name"},
      {path: "services", kind: "choices", label: "admin_f_counter_services", options: serviceOptions},
    ],
    priorities: [
      {path: "code", kind: "text", label: "admin_f_code", key: true},
      {path: "name.vi", kind: "text", label: "admin_f_name_vi"},
      {path: "name.en", kind: "text", label: "admin_f_name_en"},
    ],
    kiosks: [
      {path: "id", kind: "text", label: "admin_f_code", key: true},
      {path: "printer", kind: "select", label: "admin_f_printer", options: printerOptions, blank: true},
      {path: "services", kind: "choices", label: "admin_f_kiosk_services", options: serviceOptions},
    ],
    displays: [
      {path: "id", kind: "text", key: true},
      {path: "name", kind: "text"},
      {path: "mode", kind: "select", options: fixed(["lobby", "zone", "counter"], "admin_mode_")},
      {path: "counters", kind: "choices", options: counterOptions},
      {path: "counter", kind: "int"},
      {path: "layout", kind: "select", options: fixed(["auto", "landscape", "portrait"], "admin_layout_")},
      {path: "ticker", kind: "textarea", sup: true},
      {path: "slides", kind: "lines", hint: "admin_h_slides", sup: true},
      {path: "slide_seconds", kind: "number", sup: true},
      {path: "voice.language", kind: "select", options: fixed(["vi", "en", "vi+en"], "admin_voice_")},
      {path: "voice.repeat", kind: "int"},
      {path: "voice.chime", kind: "check"},
      {path: "voice.region", kind: "select", options: fixed(["north", "south"], "admin_region_")},
      {path: "voice.phrase", kind: "text"},
      {path: "voice.phrase_en", kind: "text"},
    ],
    printers: [
      {path: "id", kind: "text", label: "admin_f_code", key: true},
      {path: "driver", kind: "select", label: "admin_f_driver", options: fixed(["network", "usb", "serial", "device", "cups", "file", "agent"], "admin_driver_")},
      {path: "host", kind: "text", label: "admin_f_host"},
      {path: "port", kind: "int", label: "admin_f_port"},
      {path: "vendor_id", kind: "text", label: "admin_f_vendor_id"},
      {path: "product_id", kind: "text", label: "admin_f_product_id"},
      {path: "device", kind: "text", label: "admin_f_device"},
      {path: "queue", kind: "text", label: "admin_f_queue"},
      {path: "path", kind: "text", label: "admin_f_path"},
      {path: "profile", kind: "text", label: "admin_f_profile"},
      {path: "width_dots", kind: "int", label: "admin_f_width_dots"},
    ],
    users: [
      {path: "username", kind: "text", label: "admin_f_username", key: true},
      {path: "full_name", kind: "text", label: "admin_f_full_name"},
      // (province: read-only, of the whole installation; a site's admin page refuses to make one)
      {path: "role", kind: "select", label: "admin_f_role", options: fixed(["clerk", "supervisor", "admin", "province"], "admin_role_")},
      {path: "counter", kind: "int", label: "admin_f_user_counter"},
      {path: "active", kind: "check", label: "admin_f_active", only: "change"},
      {path: "password", kind: "password", label: "admin_f_password"},
    ],
    tokens: [
      {path: "role", kind: "select", label: "admin_f_role", options: fixed(["kiosk", "display", "rating", "counter", "integration", "supervisor", "admin"], "admin_role_")},
      {path: "name", kind: "text", label: "admin_f_token_name"},
      {path: "counter", kind: "int", label: "admin_f_token_counter"},
      {path: "kiosk", kind: "select", label: "admin_f_token_kiosk", options: kioskOptions, blank: true},
    ],
    webhooks: [
      {path: "url", kind: "text", label: "admin_f_webhook_url", wide: true},
      {path: "events", kind: "choices", label: "admin_f_webhook_events", options: function () { return data.webhookEvents.map(function (e) { return {value: e, text: e}; }); }},
      {path: "secret", kind: "text", label: "admin_f_webhook_secret", hint: "admin_h_webhook_secret", wide: true},
    ],
    hours: [
      {path: "name", kind: "text", wide: true},
      // what the site's SMS begin with instead of its name (SMS only: e-mail, Zalo and Web Push keep the name)
      {path: "sms_name", kind: "text", hint: "admin_h_site_sms_name"},
      {path: "place", kind: "text", hint: "admin_h_place"},
      {path: "address", kind: "text", hint: "admin_h_site_address", wide: true},
      // site.languages: Vietnamese always; English offered at one tap on the citizens' pages, or not
      {path: "languages", kind: "english", hint: "admin_h_english"},
      {path: "hours.open", kind: "time"},
      {path: "hours.close", kind: "time"},
      {path: "hours.days", kind: "days"},
      {path: "ticket.tracking_url", kind: "text", wide: true},
      {path: "ticket.footer", kind: "text", wide: true},
    ],
    holidays: [{path: "holidays", kind: "dates", sup: true}],
    // the installation's sites (an admin of the whole installation only: GET /api/v1/admin/sites answers)
    sites: [
      {path: "id", kind: "text", label: "admin_f_site_id", key: true},
      {path: "name", kind: "text", label: "admin_f_site_name", wide: true},
      {path: "sms_name", kind: "text", label: "admin_f_site_sms_name", hint: "admin_h_site_sms_name", only: "change"},
      {path: "timezone", kind: "text", label: "admin_f_timezone"},
      {path: "address", kind: "text", label: "admin_f_site_address", hint: "admin_h_site_address", wide: true, only: "change"},
      {path: "hours.open", kind: "time", label: "admin_f_open"},
      {path: "hours.close", kind: "time", label: "admin_f_close"},
      {path: "hours.days", kind: "days", label: "admin_f_days"},
      // communes merged (Decree 118/2025): the site serves nobody from now on and names where to go
      {path: "retired", kind: "check", label: "admin_f_site_retired", hint: "admin_h_site_retired", only: "change", unless: "first"},
      {path: "moved_to", kind: "select", label: "admin_f_site_moved_to", options: servingSiteOptions, blank: true, only: "change",
       unless: "first"},
    ],
    policy: [
      {path: "policy.priority", kind: "select", options: fixed(["interleave", "strict", "none"], "admin_policy_")},
      {path: "policy.normal_per_priority", kind: "int"},
      {path: "policy.max_wait_minutes", kind: "int"},
      // "next" over a citizen called and never started ("Bắt đầu"): not a service unless the site says so
      {path: "policy.unstarted_at_next", kind: "select",
       options: fixed(["no_show", "served"], "admin_unstarted_")},
      {path: "policy.end_of_day", kind: "select", options: fixed(["expire", "keep"], "admin_end_of_day_")},
    ],
    ticker: [{path: "ticker", kind: "textarea", sup: true}],
    // citizens told their turn is near (PATCH /admin/site {notifications}; docs/integrations.md)
    notifications: [
      {path: "notifications.ahead", kind: "int", hint: "admin_h_notify_ahead"},
      {path: "notifications.channels", kind: "choices", hint: "admin_h_notify_channels", noAll: true,
       options: fixed(["sms", "zalo", "email", "push"], "admin_channel_")},
      {path: "notifications.sms.url", kind: "text", hint: "admin_h_sms_url", wide: true},
      {path: "notifications.sms.method", kind: "select", options: fixed(["POST", "GET"])},
      {path: "notifications.sms.content_type", kind: "text"},
      {path: "notifications.sms.headers", kind: "headers", hint: "admin_h_sms_headers", wide: true},
      {path: "notifications.sms.body", kind: "textarea", wide: true},
      {path: "notifications.sms.phone_format", kind: "select", options: fixed(["84", "0", "+84"])},
      {path: "notifications.sms.no_diacritics", kind: "check", off: true},
      {path: "notifications.zalo.access_token", kind: "text", hint: "admin_h_secret_ref", wide: true},
      {path: "notifications.zalo.template_near", kind: "text"},
      {path: "notifications.zalo.template_called", kind: "text"},
      {path: "notifications.zalo.template_cancelled", kind: "text", hint: "admin_h_zalo_cancelled"},
      {path: "notifications.email.host", kind: "text"},
      {path: "notifications.email.port", kind: "int"},
      {path: "notifications.email.security", kind: "select", options: fixed(["starttls", "ssl", "none"])},
      {path: "notifications.email.sender", kind: "text"},
      {path: "notifications.email.username", kind: "text"},
      {path: "notifications.email.password", kind: "password", hint: "admin_h_password_kept"},
      {path: "notifications.push.subject", kind: "text", wide: true},
    ],
    // issuing and booking limits (PATCH /admin/site {limits}; docs/configuration.md): an empty limit is the default
    limits: [
      {path: "limits.tickets_per_address", kind: "text", hint: "admin_h_limit"},
      {path: "limits.tickets_per_kiosk", kind: "text", hint: "admin_h_limit"},
      {path: "limits.bookings_per_address", kind: "text", hint: "admin_h_limit"},
      {path: "limits.lookups_per_address", kind: "text", hint: "admin_h_limit"},
      {path: "limits.exempt_addresses", kind: "lines", hint: "admin_h_exempt_addresses"},
      {path: "limits.require_kiosk_token", kind: "check", hint: "admin_h_require_kiosk_token", off: true},
    ],
    // the site's voice (PATCH /admin/site {sounds}): the paths are the server's, set by an admin of the whole installation
    sounds: [
      {path: "sounds.recordings", kind: "text", hint: "admin_h_recordings", wide: true, installation: true},
      {path: "sounds.tts", kind: "select", hint: "admin_h_tts", options: fixed(["auto", "pyttsx3", "espeak-ng", "piper", "none"])},
      {path: "sounds.piper_model", kind: "text", hint: "admin_h_piper_model", wide: true, installation: true},
      {path: "sounds.cache_mb", kind: "int"},
    ],
  };

  // the site's forms and a display's take their labels from the server (server/core/field_labels.py), whose
  // refusals name those fields with the same words
  const SERVER_LABELS = QK.page().field_labels;
  ["hours", "holidays", "policy", "ticker", "notifications", "limits", "sounds", "displays"].forEach(function (section) {
    const labels = SERVER_LABELS[section === "displays" ? "displays" : "site"];
    FIELDS[section].forEach(function (field) { field.label = labels[field.path]; });
  });

  // objects that are wholly absent when every key in them is empty (a service without a field)
  const OPTIONAL_OBJECTS = {services: ["examples", "field", "booking"]};

  // --- the item sections: columns of their list ------------------------------------------
  function choiceText(value) {
    if (value === "all") return QK.msg("admin_all", null, QK.lang());
    return (value || []).join(", ");
  }
  function dotted(key) { return function (item) { return get(item, key); }; }

  /** Where an account acts: its site, or every site (an account of the whole installation). */
  function accountSite(account) {
    return account.site || QK.msg("admin_every_site", null, QK.lang());
  }

  const LISTS = {
    services: {columns: [["admin_f_code", dotted("code")], ["admin_f_name_vi", null],
      ["admin_c_numbers", function (s) { return s.numbers.start + "–" + s.numbers.end; }],
      ["admin_f_target_wait", dotted("target_wait_minutes")]]},
    counters: {columns: [["admin_f_counter_number", dotted("number")], ["admin_f_counter_name", dotted("name")],
      ["admin_f_counter_services", function (c) { return choiceText(c.services); }]]},
    priorities: {columns: [["admin_f_code", dotted("code")], ["admin_f_name_vi", dotted("name.vi")]]},
    kiosks: {columns: [["admin_f_code", dotted("id")], ["admin_f_printer", dotted("printer")],
      ["admin_f_kiosk_services", function (k) { return choiceText(k.services); }]]},
    displays: {columns: [["admin_f_code", dotted("id")], ["admin_f_display_name", dotted("name")],
      ["admin_f_display_counters", function (d) { return choiceText(d.counters); }], ["admin_f_ticker", dotted("ticker")]]},
    printers: {columns: [["admin_f_code", dotted("id")], ["admin_f_driver", dotted("driver")],
      ["admin_c_where", function (p) { return p.host || p.device || p.queue || p.path || ""; }]]},
    users: {columns: [["admin_f_username", dotted("username")], ["admin_f_full_name", dotted("full_name")],
      ["admin_f_role", function (u) { return QK.msg("admin_role_" + u.role, null, QK.lang()); }],
      ["admin_f_user_counter", dotted("counter")],
      ["admin_f_active", function (u) { return QK.msg(u.active ? "admin_yes" : "admin_no", null, QK.lang()); }],
      ["admin_f_account_site", accountSite]]},
    sites: {columns: [["admin_f_site_id", dotted("id")], ["admin_f_site_name", dotted("name")],
      ["admin_f_timezone", dotted("timezone")],
      ["admin_tab_hours", function (s) { return s.hours ? String(s.hours.open).slice(0, 5) + "–" + String(s.hours.close).slice(0, 5) : ""; }],
      ["admin_f_site_state", function (s) {
        if (!s.retired) return QK.msg("admin_site_serving", null, QK.lang());
        const to = (data.sites || []).find(function (other) { return other.id === s.moved_to; });
        return QK.msg(s.moved_to ? "admin_site_retired_to" : "admin_site_retired", {site: to ? to.name : s.moved_to}, QK.lang());
      }],
      ["admin_c_open_site", function (s) { return "/s/" + s.id + "/admin"; }]]},
  };
  const KEYS = {services: "code", counters: "number", priorities: "code", kiosks: "id", displays: "id",
                printers: "id", users: "username", sites: "id"};

  // --- small helpers ----------------------------------------------------------------------
  function get(object, path) {
    return path.split(".").reduce(function (value, part) {
      return value === null || value === undefined ? undefined : value[part];
    }, object);
  }

  function put(object, path, value) {
    const parts = path.split(".");
    let node = object;
    parts.slice(0, -1).forEach(function (part) {
      if (!node[part] || typeof node[part] !== "object") node[part] = {};
      node = node[part];
    });
    node[parts[parts.length - 1]] = value;
  }

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

  function isAdmin() { return me && me.role === "admin"; }

  // --- a form built from FIELDS -------------------------------------------------------------
  /**
   * ``editable(field)`` says which inputs this person may change. Returns {node, fill(item, mode),
   * read(mode), errors(answer), clearErrors(), status(key), fieldNode(path)}.
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

  // --- loading ----------------------------------------------------------------------------
  function loadAll() {
    const calls = [QK.api("GET", API + "setup"), QK.api("GET", API + "site")];
    if (isAdmin()) calls.push(QK.api("GET", API + "users"), QK.api("GET", API + "tokens"), QK.api("GET", API + "webhooks"));
    return Promise.all(calls).then(function (answers) {
      const failed = answers.find(function (a) { return !a.ok; });
      if (failed) throw failed;
      data.setup = answers[0].data.setup;
      data.site = answers[1].data;
      if (isAdmin()) {
        data.users = answers[2].data;
        data.tokens = answers[3].data;
        data.webhooks = answers[4].data.webhooks;
        data.webhookEvents = answers[4].data.events;
      }
      $("load-error").hidden = true;
      return isAdmin() ? loadSites() : null;
    }).catch(function (answer) {
      const box = $("load-error");
      box.textContent = answer && answer.status ? QK.errorMessage(answer) : QK.msg("page_network_error", null, QK.lang());
      box.hidden = false;
      throw answer;
    });
  }

  /** The sites, for an admin of the whole installation; anyone else is refused and sees no tab. */
  function loadSites() {
    return QK.api("GET", "/api/v1/admin/sites").then(function (answer) {
      data.sites = answer.ok ? answer.data : null;
      $("tab-sites").hidden = !data.sites;
    }, function () {});
  }

  function itemsOf(section) {
    if (section === "users") return data.users;
    if (section === "sites") return data.sites || [];
    return data.setup[section] || [];
  }

  // --- panels -------------------------------------------------------------------------------
  const panels = {};  // tab -> {refresh()} of the panel drawn last

  function supervisorMay(field) { return !!field.sup; }
  function editableFor(section) {
    return function (field) {
      // a path on the server's disk: an admin of the whole installation only (the one whom GET /admin/sites answers)
      if (field.installation) return isAdmin() && !!data.sites;
      return isAdmin() || (section === "displays" || section === "holidays" || section === "ticker") && supervisorMay(field);
    };
  }

  function readOnlyNote(panel, anyEditable) {
    if (!anyEditable) panel.appendChild(labelled("p", "message info readonly", "admin_readonly"));
  }

  /** A section of items: its list, "Thêm mới" and the form of the chosen item. */
  function itemPanel(section, panel) {
    const key = KEYS[section];
    const editable = editableFor(section);
    readOnlyNote(panel, FIELDS[section].some(editable));
    const layout = el("div", "layout");
    const side = el("div", "list");
    const table = el("table", "items");
    side.appendChild(table);
    const add = labelled("button", "new", "admin_new");
    add.type = "button";
    add.hidden = !isAdmin();
    side.appendChild(add);
    const right = el("div", "edit");
    const title = el("h2", "editing");
    right.appendChild(title);
    const form = makeForm(FIELDS[section], editable, section);
    right.appendChild(form.node);
    const remove = labelled("button", "delete", "admin_delete");
    remove.type = "button";
    form.node.querySelector(".actions").appendChild(remove);
    const testPrint = labelled("button", "test-print", "admin_test_print");
    testPrint.type = "button";
    testPrint.hidden = section !== "printers";
    form.node.querySelector(".actions").appendChild(testPrint);
    layout.appendChild(side);
    layout.appendChild(right);
    panel.appendChild(layout);

    let chosen = null;  // the key of the item in the form; null: a new one

    function drawList() {
      const columns = LISTS[section].columns;
      const head = el("tr");
      columns.forEach(function (column) { head.appendChild(labelled("th", null, column[0])); });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      itemsOf(section).forEach(function (item) {
        const row = el("tr", "item");
        row.dataset.key = String(item[key]);
        row.tabIndex = 0;
        if (String(item[key]) === String(chosen)) row.classList.add("chosen");
        columns.forEach(function (column) {
          const cell = el("td");
          if (section === "services" && column[1] === null) {
            // as the kiosk shows it: the name with its typical procedures under it; then its field ("lĩnh vực")
            cell.appendChild(el("span", "name", item.name.vi));
            if (item.examples) cell.appendChild(el("span", "examples", item.examples.vi));
            if (item.field) cell.appendChild(el("span", "field-name", item.field.vi));
          } else {
            const value = column[1](item);
            cell.textContent = value === null || value === undefined ? "" : String(value);
          }
          row.appendChild(cell);
        });
        const pick = function () { if (String(item[key]) === String(chosen) || mayDiscard([form])) choose(item[key]); };
        row.addEventListener("click", pick);
        row.addEventListener("keydown", function (event) { if (event.key === "Enter") pick(); });
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
      if (!itemsOf(section).length) table.appendChild(labelled("caption", null, "admin_empty_list"));
    }

    function choose(itemKey) {
      const item = itemsOf(section).find(function (i) { return String(i[key]) === String(itemKey); });
      chosen = item ? item[key] : null;
      form.fill(item || null, item ? "change" : "create");
      right.hidden = false;
      say(title, item ? "admin_editing" : "admin_adding", {item: item ? String(item[key]) : ""});
      // a site added by mistake may go (the server says why one may not); never the first
      remove.hidden = !item || !isAdmin() || section === "users" || (section === "sites" && !!item.first);
      testPrint.hidden = section !== "printers" || !item || !isAdmin();
      // a counter serving nothing takes only the numbers transferred to it: allowed, but said
      const servesNothing = section === "counters" && item && Array.isArray(item.services) && !item.services.length;
      if (section === "counters") form.note("services", servesNothing ? "admin_counter_serves_nothing" : null);
      disarm(remove);
      drawList();
    }

    add.addEventListener("click", function () {
      if (!mayDiscard([form])) return;
      chosen = null;
      form.fill(null, "create");
      right.hidden = false;
      say(title, "admin_adding");
      remove.hidden = true;
      drawList();
      const first = form.node.querySelector("input:not([disabled]), select:not([disabled])");
      if (first) first.focus();
    });

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      const mode = chosen === null ? "create" : "change";
      const body = form.read(mode);
      if (mode === "change" && !Object.keys(body).length) { form.status("admin_saved"); return; }  // nothing changed
      // a new site without its days ticked keeps the first site's days
      if (section === "sites" && body.hours && Array.isArray(body.hours.days) && !body.hours.days.length) delete body.hours.days;
      const url = API + section + (mode === "change" ? "/" + encodeURIComponent(chosen) : "");
      const saved = function (answer) {
        const savedKey = mode === "create" ? get(body, key) : chosen;
        return reload().then(function () {
          choose(answer.data && answer.data[key] !== undefined ? answer.data[key] : savedKey);
          form.status("admin_saved");
        });
      };
      send(mode === "create" ? "POST" : "PATCH", url, body, form, saved, mode === "change" && function () {
        return send("PATCH", url, Object.assign({}, body, {confirm: true}), form, saved);
      });
    });

    testPrint.addEventListener("click", function () {
      // printed like a ticket by the process that drives the printer: its state shows on the dashboard
      send("POST", API + "printers/" + encodeURIComponent(chosen) + "/test-print", undefined, form, function () {
        form.status("admin_test_print_sent");
      });
    });

    const removing = section === "sites" ? ["admin_site_remove", "admin_site_remove_confirm"] : ["admin_delete"];
    onSecondPress(remove, removing[0], function () {
      const url = API + section + "/" + encodeURIComponent(chosen);
      const removed = function () {
        return reload().then(function () { chosen = null; right.hidden = true; drawList(); });
      };
      send("DELETE", url, undefined, form, removed, function () { return send("DELETE", url + "?confirm=true", undefined, form, removed); });
    }, removing[1]);

    drawList();
    right.hidden = true;
    const items = itemsOf(section);
    if (items.length) choose(items[0][key]);
    return {refresh: drawList};
  }

  /** A form of the site (PATCH /admin/site): hours, holidays, policy, the common ticker. */
  function siteForm(group, parent, titleKey, noteKey, shape) {
    const box = el("div", "site-form");
    box.appendChild(labelled("h2", null, titleKey));
    if (noteKey) box.appendChild(labelled("p", "hint", noteKey));
    const editable = editableFor(group);
    readOnlyNote(box, FIELDS[group].some(editable));
    const form = makeForm(FIELDS[group], editable, group);
    box.appendChild(form.node);
    parent.appendChild(box);
    form.fill(data.site, "change");
    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      form.clearErrors();
      if (!form.commitPending()) return;  // a date in the box that is not one: said under it, nothing sent
      const body = form.read("change");
      if (!Object.keys(body).length) { form.status("admin_saved"); return; }  // nothing changed: nothing to save
      const sent = shape ? shape(body) : body;
      const saved = function () {
        return reload().then(function () { form.fill(data.site, "change"); form.status("admin_saved"); });
      };
      // hours or holidays that would cancel bookings: asked, and sent again saying the person knows
      send("PATCH", API + "site", sent, form, saved, function () {
        return send("PATCH", API + "site", Object.assign({}, sent, {confirm: true}), form, saved);
      });
    });
    return form;
  }

  function hoursPanel(panel) {
    const columns = el("div", "layout two");
    panel.appendChild(columns);
    const hours = siteForm("hours", columns, "admin_hours_title");
    siteForm("holidays", columns, "admin_holidays_title", "admin_h_holidays");
    // tickets' QR codes at an address no phone opens (this machine's loopback, a backend behind nginx)
    const loopback = el("p", "message error tracking-loopback");
    loopback.id = "tracking-loopback";
    hours.node.insertBefore(loopback, hours.node.firstChild);
    function showTracking() {
      const tracking = data.site.tracking;
      loopback.hidden = !(tracking && tracking.unreachable);
      // only an admin can set the address (or have the server started on another): a supervisor is told whom to tell
      if (!loopback.hidden) say(loopback, isAdmin() ? tracking.unreachable : "admin_tracking_loopback_tell", {address: tracking.address});
    }
    showTracking();
    return {refresh: showTracking};  // a save (or another admin's) redraws the warning, not the forms
  }

  function prioritiesPanel(panel) {
    const drawn = itemPanel("priorities", panel);
    siteForm("policy", panel, "admin_policy_title", "admin_h_policy");
    return drawn;
  }

  function tickerPanel(panel) {
    const form = siteForm("ticker", panel, "admin_tab_ticker", "admin_h_ticker");
    if (data.site.ticker === null && data.setup.displays.length > 1) {
      form.node.insertBefore(labelled("p", "message info", "admin_ticker_differs"), form.node.firstChild);
    }
    return {refresh: function () {}};
  }

  /** Notifications to citizens: N ahead, the channels offered and each channel's settings, one form
   * (PATCH /admin/site {notifications}). A channel whose main setting is empty is removed. */
  const CHANNEL_KEYS = {sms: "url", zalo: "access_token", email: "host"};
  function notificationsPanel(panel) {
    siteForm("notifications", panel, "admin_tab_notifications", "admin_h_notifications", function (body) {
      const wanted = body.notifications;
      if (!wanted) return body;  // (only what was changed is sent: the notifications, or nothing)
      const before = data.site.notifications || {};
      Object.keys(CHANNEL_KEYS).forEach(function (name) {
        if (!wanted[name] || wanted[name][CHANNEL_KEYS[name]] === null) wanted[name] = null;
      });
      if (wanted.sms && before.sms && before.sms.headers) {  // a header taken out of the list is removed
        Object.keys(before.sms.headers).forEach(function (h) { if (!(h in wanted.sms.headers)) wanted.sms.headers[h] = null; });
      }
      const offersPush = (wanted.channels || []).indexOf("push") >= 0;
      if (!offersPush && wanted.push && wanted.push.subject === null && !before.push) wanted.push = null;
      else if (wanted.push && wanted.push.subject === null) delete wanted.push.subject;
      return body;
    });
    return {refresh: function () {}};  // as the hours: a save (or another admin's) does not undo what is typed
  }

  /** Issuing and booking limits (PATCH /admin/site {limits}). An empty limit is sent as null, which
   * restores its default; "off" switches one off (the server shows a switched-off limit as "off"). */
  function limitsPanel(panel) {
    siteForm("limits", panel, "admin_tab_limits", "admin_h_limits");
    return {refresh: function () {}};  // as the hours: a save (or another admin's) does not undo what is typed
  }

  /** The site's voice (PATCH /admin/site {sounds}): recordings folder, text to speech, piper voice, cache. */
  function soundsPanel(panel) {
    siteForm("sounds", panel, "admin_tab_sounds", "admin_h_sounds");
    return {refresh: function () {}};
  }

  /** Device tokens: the list (revoke), a new token, and its pairing link and QR code once. */
  function tokensPanel(panel) {
    const layout = el("div", "layout");
    const side = el("div", "list");
    const table = el("table", "items tokens");
    side.appendChild(table);
    const right = el("div", "edit");
    right.appendChild(labelled("h2", null, "admin_token_new"));
    right.appendChild(labelled("p", "hint", "admin_h_tokens"));
    const form = makeForm(FIELDS.tokens, function () { return true; }, "tokens");
    form.fill({role: "kiosk"}, "create");
    right.appendChild(form.node);
    const made = el("div", "token-made");
    made.id = "token-made";
    made.hidden = true;
    right.appendChild(made);
    layout.appendChild(side);
    layout.appendChild(right);
    panel.appendChild(layout);

    function drawList() {
      const columns = ["admin_c_id", "admin_f_role", "admin_f_token_name", "admin_f_token_counter", "admin_f_token_kiosk",
                       "admin_f_account_site", "admin_c_state"];
      const head = el("tr");
      columns.forEach(function (key) { head.appendChild(labelled("th", null, key)); });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      data.tokens.slice().reverse().forEach(function (token) {
        const row = el("tr", "item");
        row.dataset.key = String(token.id);
        [token.id, QK.msg("admin_role_" + token.role, null, QK.lang()), token.name, token.counter, token.kiosk, accountSite(token)]
          .forEach(function (value) { row.appendChild(el("td", null, value === null || value === undefined ? "" : value)); });
        const state = el("td");
        if (token.revoked_at) state.appendChild(labelled("span", "revoked", "admin_revoked"));
        else {
          const revoke = labelled("button", "revoke", "admin_revoke");
          revoke.type = "button";
          onSecondPress(revoke, "admin_revoke", function () {
            send("DELETE", API + "tokens/" + token.id, undefined, form, function () { return reload().then(drawList); });
          });
          state.appendChild(revoke);
        }
        row.appendChild(state);
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
    }

    function showMade(answer) {
      made.replaceChildren();
      made.hidden = false;
      made.appendChild(labelled("p", "message info", answer.pair_path ? "admin_token_pair" : "admin_token_once"));
      const row = el("div", "copy-row");
      const link = el("input", "token-link");
      link.readOnly = true;
      link.value = answer.pair_path ? answer.pair_path : answer.token;
      const copy = labelled("button", "copy", "admin_copy");
      copy.type = "button";
      copy.addEventListener("click", function () {
        link.select();
        const done = function () { say(copy, "admin_copied"); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link.value).then(done, function () { document.execCommand("copy"); done(); });
        else { document.execCommand("copy"); done(); }
      });
      row.appendChild(link);
      row.appendChild(copy);
      made.appendChild(row);
      if (!answer.pair_path) return;
      QK.api("POST", "/admin/pair-qr", {path: answer.pair_path}, QK.lang()).then(function (qr) {
        if (!qr.ok) { form.showError(null, qr); return; }
        link.value = qr.data.url;
        const image = el("img", "qr");
        image.alt = QK.msg("admin_qr_alt", null, QK.lang());
        image.src = "data:image/svg+xml;base64," + btoa(qr.data.svg);
        made.appendChild(image);
      });
    }

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      made.hidden = true;
      send("POST", API + "tokens", form.read("create"), form, function (answer) {
        showMade(answer.data);
        form.settle();
        form.status("admin_saved");
        return reload().then(drawList);
      });
    });
    drawList();
    return {refresh: drawList};
  }

  /** Webhooks: the list (delete), a new one (its secret shown once), and the chosen one's delivery log with replay. */
  function webhooksPanel(panel) {
    const layout = el("div", "layout");
    const side = el("div", "list");
    const table = el("table", "items webhooks");
    const log = el("div", "deliveries");
    log.id = "webhook-deliveries";
    side.appendChild(table);
    side.appendChild(log);
    const right = el("div", "edit");
    right.appendChild(labelled("h2", null, "admin_webhook_new"));
    right.appendChild(labelled("p", "hint", "admin_h_webhooks"));
    const form = makeForm(FIELDS.webhooks, function () { return true; }, "webhooks");
    form.fill({events: []}, "create");
    right.appendChild(form.node);
    const made = el("div", "token-made");
    made.id = "webhook-made";
    made.hidden = true;
    right.appendChild(made);
    layout.appendChild(side);
    layout.appendChild(right);
    panel.appendChild(layout);
    let chosen = null;

    function cell(row, value) { row.appendChild(el("td", null, value === null || value === undefined ? "" : String(value))); }
    function when(iso) { return iso ? new Date(iso).toLocaleString(QK.lang() === "en" ? "en-GB" : "vi-VN") : ""; }

    function drawList() {
      const head = el("tr");
      ["admin_c_id", "admin_f_webhook_url", "admin_f_webhook_events", "admin_f_webhook_secret", ""].forEach(function (key) {
        head.appendChild(key ? labelled("th", null, key) : el("th"));
      });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      data.webhooks.forEach(function (hook) {
        const row = el("tr", "item" + (hook.id === chosen ? " chosen" : ""));
        row.dataset.key = String(hook.id);
        row.tabIndex = 0;
        [hook.id, hook.url, hook.events.join(", "), hook.secret].forEach(function (value) { cell(row, value); });
        const actions = el("td");
        const remove = labelled("button", "revoke", "admin_delete");
        remove.type = "button";
        remove.addEventListener("click", function (event) { event.stopPropagation(); });
        onSecondPress(remove, "admin_delete", function () {
          send("DELETE", API + "webhooks/" + hook.id, undefined, form, function () {
            if (chosen === hook.id) { chosen = null; log.replaceChildren(); }
            return reload();
          });
        });
        actions.appendChild(remove);
        row.appendChild(actions);
        row.addEventListener("click", function () { choose(hook.id); });
        row.addEventListener("keydown", function (event) { if (event.key === "Enter") choose(hook.id); });
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
      if (!data.webhooks.length) table.appendChild(labelled("caption", null, "admin_empty_list"));
      if (chosen !== null) drawDeliveries();
    }

    function choose(id) {
      chosen = id;
      drawList();
    }

    function drawDeliveries() {
      const id = chosen;
      QK.api("GET", API + "webhooks/" + id + "/deliveries?limit=50", undefined, QK.lang()).then(function (answer) {
        if (id !== chosen) return;
        log.replaceChildren(labelled("h2", null, "admin_webhook_deliveries"));
        if (!answer.ok) { log.appendChild(el("p", "message error", QK.errorMessage(answer))); return; }
        const list = el("table", "items");
        const head = el("tr");
        ["admin_c_occurred", "admin_c_event", "admin_c_state", "admin_c_attempts", "admin_c_last_answer", "admin_c_next_attempt", ""]
          .forEach(function (key) { head.appendChild(key ? labelled("th", null, key) : el("th")); });
        const thead = el("thead");
        thead.appendChild(head);
        const tbody = el("tbody");
        answer.data.deliveries.forEach(function (d) {
          const row = el("tr", "delivery " + d.status);
          row.dataset.delivery = d.delivery;
          cell(row, when(d.occurred_at));
          cell(row, d.event);
          row.appendChild(labelled("td", null, "admin_delivery_" + d.status));
          cell(row, d.attempts);
          cell(row, d.last_error || d.last_status_code);
          cell(row, when(d.next_attempt_at));
          const actions = el("td");
          const replay = labelled("button", "replay", "admin_replay");
          replay.type = "button";
          replay.addEventListener("click", function () {
            send("POST", API + "webhooks/" + id + "/deliveries/" + d.id + "/replay", undefined, form, function () {
              form.status("admin_replay_sent");
              drawDeliveries();
            });
          });
          actions.appendChild(replay);
          row.appendChild(actions);
          tbody.appendChild(row);
        });
        list.replaceChildren(thead, tbody);
        if (!answer.data.deliveries.length) list.appendChild(labelled("caption", null, "admin_empty_list"));
        log.appendChild(list);
      });
    }

    function showSecret(hook) {
      made.replaceChildren(labelled("p", "message info", "admin_webhook_secret_once"));
      const row = el("div", "copy-row");
      const secret = el("input", "token-link");
      secret.readOnly = true;
      secret.value = hook.secret;
      const copy = labelled("button", "copy", "admin_copy");
      copy.type = "button";
      copy.addEventListener("click", function () {
        secret.select();
        document.execCommand("copy");
        say(copy, "admin_copied");
      });
      row.appendChild(secret);
      row.appendChild(copy);
      made.appendChild(row);
      made.hidden = false;
    }

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      made.hidden = true;
      const body = form.read("create");
      if (body.events === "all") body.events = data.webhookEvents.slice();
      if (!body.secret) delete body.secret;
      send("POST", API + "webhooks", body, form, function (answer) {
        showSecret(answer.data);
        form.fill({events: []}, "create");
        form.status("admin_saved");
        chosen = answer.data.id;
        return reload();
      });
    });
    drawList();
    return {refresh: drawList};
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

  function reload() {
    return loadAll().then(function () {
      if (currentTab && panels[currentTab]) panels[currentTab].refresh();
    });
  }

  // --- tabs ---------------------------------------------------------------------------------
  const DRAW = {
    services: function (p) { return itemPanel("services", p); },
    counters: function (p) { return itemPanel("counters", p); },
    priorities: prioritiesPanel,
    hours: hoursPanel,
    kiosks: function (p) { return itemPanel("kiosks", p); },
    displays: function (p) { return itemPanel("displays", p); },
    printers: function (p) { return itemPanel("printers", p); },
    users: function (p) { return itemPanel("users", p); },
    sites: function (p) {
      p.appendChild(labelled("p", "hint", "admin_h_sites"));
      return itemPanel("sites", p);
    },
    tokens: tokensPanel,
    webhooks: webhooksPanel,
    ticker: tickerPanel,
    notifications: notificationsPanel,
    limits: limitsPanel,
    sounds: soundsPanel,
  };
  const ADMIN_ONLY_TABS = ["users", "tokens", "webhooks", "notifications"];

  /** Draw ``tab`` afresh (its form offers what the setup holds now) and show it. */
  function openTab(tab) {
    if (!mayDiscard()) return;
    openForms.length = 0;
    currentTab = tab;
    document.querySelectorAll(".tab").forEach(function (button) {
      const on = button.dataset.tab === tab;
      button.classList.toggle("active", on);
      button.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll(".panel").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== tab;
      if (panel.dataset.panel === tab) {
        panel.replaceChildren();
        panels[tab] = DRAW[tab](panel);
        QK.translate(panel);
      }
    });
    if (location.hash !== "#" + tab) history.replaceState(null, "", "#" + tab);
  }

  function start(who) {
    me = who;
    document.body.dataset.role = me.role;
    ADMIN_ONLY_TABS.forEach(function (tab) { $("tab-" + tab).hidden = !isAdmin(); });
    document.querySelectorAll(".tab").forEach(function (button) {
      button.addEventListener("click", function () { openTab(button.dataset.tab); });
    });
    loadAll().then(function () {
      const asked = location.hash.replace(/^#/, "");
      const tab = DRAW[asked] && !$("tab-" + asked).hidden ? asked : (isAdmin() ? "services" : "ticker");
      openTab(tab);
      document.body.dataset.ready = "1";
    });
    if (window.io) {
      // another admin (or this one in another tab) saved: the lists show it
      const socket = io({reconnectionDelayMax: 5000});
      socket.on("config.changed", function () { reload().catch(function () {}); });
    }
  }

  // "Đăng xuất" (supervisor.js ends the session, then reloads): /admin asks first, before the session ends,
  // and the reload after a "yes" is not asked about again
  let discarded = false;
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#logout")) return;
    if (mayDiscard()) discarded = true;
    else event.stopPropagation();
  }, true);

  // leaving or reloading the page with something typed and not saved: the browser asks
  window.addEventListener("beforeunload", function (event) {
    if (!discarded && openForms.some(function (form) { return form.node.isConnected && form.dirty(); })) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  $("lang").addEventListener("click", function () {
    QK.setLang(QK.otherLang());
    if (currentTab && panels[currentTab]) panels[currentTab].refresh();
  });

  QK.supervisor(start);
})();
