/* /admin, its first part: QK.admin, which the page's other parts share (each builds on the ones
 * templates/admin/page.html loads before it), and what each section holds: the fields of its form
 * (FIELDS: path in the API's JSON, kind of input, label: the server's for the site's fields and a
 * display's, given with the page), the columns of its list (LISTS) and the key of its items (KEYS);
 * get/put read and write a path in the API's JSON.
 */
(function () {
  "use strict";

  const A = QK.admin = {
    API: "/api/v1/admin/",
    me: null,  // who is logged in (admin.js)
    // the setup as the admin API gave it, read again after every saved change (admin.js loadAll)
    data: {setup: null, site: null, users: [], tokens: [], webhooks: [], webhookEvents: [], sites: null},
    // each part's <script>, put in as the part's last step: admin.js starts the page only if all ran
    // (and admin.js's own, as its last step)
    loaded: [],
  };
  QK.namePageIfNotRun(A, "admin_part_missing");  // (admin.js, which checks the parts, did not run)
  const data = A.data;

  A.isAdmin = function () { return A.me && A.me.role === "admin"; };
  A.labelled = function (tag, className, key) { return QK.say(QK.el(tag, className), key); };

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

  // --- a path of the API's JSON ("name.vi"): read and written -----------------------------
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

  Object.assign(A, {FIELDS: FIELDS, OPTIONAL_OBJECTS: OPTIONAL_OBJECTS, LISTS: LISTS, KEYS: KEYS,
                    accountSite: accountSite, get: get, put: put});
  A.loaded.push(document.currentScript);
})();
